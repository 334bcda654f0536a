import sharp, { type Metadata } from 'sharp';
import type { CropEdge, ImageParams } from '../../core/files/image-params.js';
import type { ImageFormat, ImageProcessor, Inspection } from '../../ports/image-processor.js';

const SERVED: Record<string, ImageFormat> = { jpeg: 'jpeg', png: 'png', webp: 'webp', gif: 'gif', heif: 'avif' };
const OTHER_TYPES: Record<string, string> = { svg: 'image/svg+xml', tiff: 'image/tiff', heif: 'image/heif', jp2k: 'image/jp2', jxl: 'image/jxl', pdf: 'application/pdf', raw: 'application/octet-stream' };

/** Larger inputs are refused (sharp's own default is 268 megapixels): 40 megapixels is a large photo. */
export const MAX_INPUT_PIXELS = 40_000_000;

/** sharp's gravity for one or two crop edges. */
function position(edges: readonly CropEdge[]): string {
  if (edges.length === 1) return edges[0] === 'center' ? 'centre' : edges[0];
  const v = edges.find((e) => e === 'top' || e === 'bottom')!;
  const h = edges.find((e) => e === 'left' || e === 'right')!;
  return `${h} ${v}`;
}

/** {@link ImageProcessor} on sharp (libvips, prebuilt binaries from npm). */
export class SharpImages implements ImageProcessor {
  async inspect(bytes: Buffer): Promise<Inspection> {
    let meta: Metadata;
    try {
      meta = await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS }).metadata();
    } catch {
      return { kind: 'not_image' };
    }
    const format = meta.format as string;
    // HEIF containers hold AVIF (served) or HEIC (not displayed by most browsers).
    if (format === 'heif' && meta.compression !== 'av1') return { kind: 'unsupported', type: 'image/heic' };
    const served = SERVED[format];
    if (!served || !meta.width || !meta.height) return { kind: 'unsupported', type: OTHER_TYPES[format] ?? `image/${format}` };
    if (meta.width * meta.height > MAX_INPUT_PIXELS) return { kind: 'unsupported', type: `image/${served} larger than ${MAX_INPUT_PIXELS} pixels` };
    return { kind: 'image', format: served, width: meta.width, height: meta.height };
  }

  async process(bytes: Buffer, p: ImageParams): Promise<Buffer> {
    const fit = p.resize === 'crop' ? 'cover' : p.resize === 'scale' ? 'fill' : p.resize === 'fill' ? 'contain' : 'inside';
    const img = sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS })
      .rotate()
      .resize({
        width: p.w ?? undefined,
        height: p.h ?? undefined,
        fit,
        position: position(p.crop),
        background: { r: 255, g: 255, b: 255, alpha: 1 },
        withoutEnlargement: p.resize === 'clip',
      });
    return img.toBuffer();
  }
}
