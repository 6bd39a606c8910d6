import type { Prices } from '../store/types.js';

/** What the playground page needs to know that the public API does not say (GET /playground/config.json). */
export interface PlaygroundConfig {
  /** The model id the server answers to. */
  model: string;
  /** Whether requests need an API key (the page then shows its key field). */
  auth: boolean;
  prices: Prices;
  /** How the model sizes images into patches; null when it takes no images. */
  image: { patchSize: number; maxImageSize: number } | null;
  /** The largest image the server accepts, in bytes. */
  maxImageBytes: number;
}
