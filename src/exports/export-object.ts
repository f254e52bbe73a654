import { ValidationError } from '../common';
import type { S3Location } from '../s3';
import { ExportCompression } from './entities/export.entity';

/** The exported object's name: `<export id>.json`, or `<export id>.json.gz` with gzip compression (the monitor's `filename`). */
export function exportFileName(exportId: string, compression: ExportCompression = ExportCompression.None): string {
  return compression === ExportCompression.Gzip ? `${exportId}.json.gz` : `${exportId}.json`;
}

/**
 * The exported object's key: `<prefix><export id>.json`, or `<prefix><export id>.json.gz` with gzip
 * compression (at most 1,024 bytes, S3's limit).
 * @throws ValidationError (422, field `s3Path`) when the prefix makes the key longer.
 */
export function exportObjectKey(location: S3Location, exportId: string, compression: ExportCompression = ExportCompression.None): string {
  const key = `${location.prefix}${exportFileName(exportId, compression)}`;
  if (Buffer.byteLength(key, 'utf8') > 1024) {
    throw ValidationError.of('s3Path', 'The s3Path prefix is too long: object keys are limited to 1,024 bytes.');
  }
  return key;
}
