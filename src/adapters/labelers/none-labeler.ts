import type { ImageLabeler, ImageLabel } from '../../ports/image-labeler.js';

/** The default labeler: no image labels (caller `image_labels` still count). */
export const noneLabeler: ImageLabeler = {
  async labelImages(): Promise<ImageLabel[]> {
    return [];
  },
};
