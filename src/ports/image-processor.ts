import type { ImageParams } from '../core/files/image-params.js';

/** Raster formats Rivulet accepts as images: the ones every current browser displays. */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'avif';

/** What an image decoder found in some bytes. */
export type Inspection =
  | { readonly kind: 'image'; readonly format: ImageFormat; readonly width: number; readonly height: number }
  /** A format the decoder knows but Rivulet does not serve (SVG can run script; TIFF, HEIF, … do not display everywhere). */
  | { readonly kind: 'unsupported'; readonly type: string }
  | { readonly kind: 'not_image' };

/**
 * Decodes and transforms images. CPU-bound work off the event loop; inputs larger than the
 * adapter's pixel limit are treated as not decodable (a decompression bomb is refused, not rendered).
 */
export interface ImageProcessor {
  /** Reads the header of `bytes` (no full decode). */
  inspect(bytes: Buffer): Promise<Inspection>;

  /**
   * Resizes and crops per `params` (see core/files/image-params.ts), honouring EXIF orientation,
   * and encodes in the same format. Metadata (EXIF, GPS) is not carried over.
   */
  process(bytes: Buffer, params: ImageParams): Promise<Buffer>;
}
