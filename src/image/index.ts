export { preprocessImage, type PreprocessedImage, type PreprocessOptions } from './preprocess.js';
export { decodeImage, DEFAULT_MAX_PIXELS, type RgbImage } from './decode.js';
export { imageBytesFromDataUri, readImageFile } from './source.js';
export { targetPatchGrid, roundHalfEven, type PatchGrid } from './target-size.js';
export { resizeBicubic } from './resize.js';
export { ImageError, type ImageErrorCode } from './errors.js';
