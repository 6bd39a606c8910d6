/** A problem with an input image; `code` lets the server map it to the right 4xx. */
export type ImageErrorCode =
  | 'unsupported_format'
  | 'truncated'
  | 'empty_image'
  | 'too_many_pixels'
  | 'not_an_image'
  | 'bad_data_uri'
  | 'too_large';

export class ImageError extends Error {
  constructor(
    readonly code: ImageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ImageError';
  }
}
