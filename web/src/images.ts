// Images the user attaches (file picker, drag and drop, paste) as data URLs ready for a request:
// a small PNG, JPEG, WebP or GIF is sent as it is; a larger one is scaled down in a canvas to at most
// MAX_SIDE pixels a side (the server resizes to the model's resolution anyway), which keeps request
// bodies and the stored conversation small. Browser only (canvas, FileReader).

/** Longest side of an image sent to the server. */
const MAX_SIDE = 1024;
/** Files up to this size and MAX_SIDE are sent unchanged. */
const KEEP_BYTES = 1_000_000;
const KEPT_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif']);

export interface Attachment {
  url: string;
  name: string;
}

function readAsDataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error ?? new Error('could not read the file'));
    r.readAsDataURL(blob);
  });
}

/** One file as an attachment; rejects with a one-line message for a file that is not a readable image. */
export async function attachmentOf(file: File): Promise<Attachment> {
  const name = file.name || 'pasted image';
  if (!file.type.startsWith('image/')) throw new Error(`${name} is not an image (${file.type || 'unknown type'})`);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error(`${name} could not be read as an image`);
  }
  try {
    const side = Math.max(bitmap.width, bitmap.height);
    if (side <= MAX_SIDE && file.size <= KEEP_BYTES && KEPT_TYPES.has(file.type)) return { url: await readAsDataUrl(file), name };
    const scale = Math.min(1, MAX_SIDE / side);
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    const g = canvas.getContext('2d');
    if (!g) throw new Error('this browser cannot scale images (no 2D canvas)');
    g.fillStyle = '#fff'; // JPEG has no transparency
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    return { url: canvas.toDataURL('image/jpeg', 0.9), name };
  } finally {
    bitmap.close();
  }
}

/** The files of a drop or paste (attachmentOf refuses those that are not images, by name). */
export function droppedFiles(dt: DataTransfer | null): File[] {
  return dt ? [...dt.files] : [];
}
