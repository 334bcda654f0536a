import { InputError } from '../errors.js';

/** How an image is fitted into w×h (stream-v2-api.md §13). */
export type ResizeMode = 'clip' | 'crop' | 'scale' | 'fill';
export type CropEdge = 'top' | 'bottom' | 'left' | 'right' | 'center';

/** A validated processing request. `w`/`h` absent means "keep the aspect ratio from the other". */
export interface ImageParams {
  readonly w: number | null;
  readonly h: number | null;
  readonly resize: ResizeMode;
  /** One or two edges (`bottom,right`), `center` alone meaning the middle. */
  readonly crop: readonly CropEdge[];
}

/** Largest width or height a processed image may ask for. */
export const MAX_IMAGE_SIDE = 4096;

const RESIZE: readonly ResizeMode[] = ['clip', 'crop', 'scale', 'fill'];
const CROP: readonly CropEdge[] = ['top', 'bottom', 'left', 'right', 'center'];

function side(value: string | undefined, what: 'w' | 'h'): number | null {
  if (value === undefined || value === '') return null;
  if (!/^\d+$/.test(value)) throw new InputError(`${what} must be a positive integer`, { fields: { [what]: ['must be a positive integer'] } });
  const n = Number(value);
  if (n < 1 || n > MAX_IMAGE_SIDE) throw new InputError(`${what} must be between 1 and ${MAX_IMAGE_SIDE}`, { fields: { [what]: ['out of range'] } });
  return n;
}

/**
 * Validates `w`, `h`, `resize` and `crop` of `GET images/` (§13): sizes are integers 1-4096 (at
 * least one of them), `resize` one of clip (default), crop, scale, fill, `crop` one edge or center
 * (default) or two edges joined by a comma (`bottom,right`). 400/4 otherwise.
 */
export function parseImageParams(q: { w?: string; h?: string; resize?: string; crop?: string }): ImageParams {
  const w = side(q.w, 'w');
  const h = side(q.h, 'h');
  if (w === null && h === null) throw new InputError('w or h is required', { fields: { w: ['required'], h: ['required'] } });
  const resize = (q.resize === undefined || q.resize === '' ? 'clip' : q.resize) as ResizeMode;
  if (!RESIZE.includes(resize)) throw new InputError(`resize must be one of ${RESIZE.join(', ')}`, { fields: { resize: ['invalid'] } });
  const edges = (q.crop === undefined || q.crop === '' ? 'center' : q.crop).split(',').map((s) => s.trim().toLowerCase()) as CropEdge[];
  const bad = () => new InputError(`crop must be ${CROP.join(', ')} or two edges such as bottom,right`, { fields: { crop: ['invalid'] } });
  if (edges.length > 2 || edges.some((e) => !CROP.includes(e))) throw bad();
  if (edges.length === 2) {
    const vertical = edges.filter((e) => e === 'top' || e === 'bottom').length;
    const horizontal = edges.filter((e) => e === 'left' || e === 'right').length;
    if (vertical !== 1 || horizontal !== 1) throw bad();
  }
  return { w, h, resize, crop: edges };
}

/** The canonical text of processing parameters, e.g. `w=50&h=50&resize=clip&crop=center`. */
export function paramsKey(p: ImageParams): string {
  const crop = [...p.crop].sort((a, b) => CROP.indexOf(a) - CROP.indexOf(b)).join(',');
  return `w=${p.w ?? ''}&h=${p.h ?? ''}&resize=${p.resize}&crop=${crop}`;
}
