/**
 * One uploaded file or image (stream-v2-api.md §13), or a processed variant of an image. The bytes
 * are in the {@link BlobStore} under `<app>/<id>`. Times are microseconds since the epoch.
 */
export interface FileRecord {
  /** Random, URL-safe (`[A-Za-z0-9_-]`), unique within the app. */
  readonly id: string;
  /** The file name shown in its URL, already made safe (see core/files/file-name.ts). */
  readonly name: string;
  readonly kind: 'file' | 'image';
  /** The type it is served with. */
  readonly contentType: string;
  readonly size: number;
  /** The user who uploaded it with a user token; `null` for uploads with a server token. */
  readonly owner: string | null;
  /**
   * For a processed variant: the original upload it derives from (variants of variants name the
   * same original), so deleting an upload deletes its variants. `null` for uploads.
   */
  readonly parent: string | null;
  /** For a processed variant: the source file id and its processing, canonical (`<id>?w=50&h=50&…`). */
  readonly variant: string | null;
  readonly createdUs: number;
}

/**
 * The index of uploaded files of an app: who owns what, its type and its variants. Every method is
 * one atomic step; ids are compared exactly.
 */
export interface FileIndex {
  /**
   * Records a file. A variant whose (`parent`, `variant`) is already recorded is not added again:
   * the recorded one is returned (`created: false`), so processing the same image the same way
   * twice yields one file.
   */
  addFile(app: string, file: FileRecord): Promise<{ record: FileRecord; created: boolean }>;

  /** Loads files by id in ONE round trip; unknown ids are absent from the map. */
  getFiles(app: string, ids: readonly string[]): Promise<Map<string, FileRecord>>;

  /** The variant recorded for (`parent`, `variant`), or null. */
  findVariant(app: string, parent: string, variant: string): Promise<FileRecord | null>;

  /**
   * Deletes files and, with them, the variants whose `parent` is one of them. Returns every record
   * deleted (so the caller deletes their bytes); unknown ids are no error.
   */
  deleteFiles(app: string, ids: readonly string[]): Promise<FileRecord[]>;

  /** Every file `owner` uploaded or derived, oldest first (data export and erasure). */
  filesOf(app: string, owner: string): Promise<FileRecord[]>;
}
