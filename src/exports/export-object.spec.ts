import { ValidationError } from '../common';
import type { S3Location } from '../s3';
import { ExportCompression } from './entities/export.entity';
import { exportObjectKey } from './export-object';

describe('exportObjectKey', () => {
  const location = (prefix: string): S3Location => ({ endpoint: null, region: 'us-east-1', bucket: 'b', prefix });

  it('puts <id>.json under the prefix', () => {
    expect(exportObjectKey(location('exports/'), '55b80dd4eb6742481c62c05e')).toBe('exports/55b80dd4eb6742481c62c05e.json');
    expect(exportObjectKey(location(''), '55b80dd4eb6742481c62c05e')).toBe('55b80dd4eb6742481c62c05e.json');
  });

  it('puts <id>.json.gz under the prefix with gzip compression, <id>.json with none', () => {
    expect(exportObjectKey(location('exports/'), '55b80dd4eb6742481c62c05e', ExportCompression.Gzip)).toBe(
      'exports/55b80dd4eb6742481c62c05e.json.gz',
    );
    expect(exportObjectKey(location(''), '55b80dd4eb6742481c62c05e', ExportCompression.None)).toBe('55b80dd4eb6742481c62c05e.json');
  });

  it('refuses keys over 1,024 bytes, counting the .gz suffix', () => {
    expect(() => exportObjectKey(location(`${'é'.repeat(500)}/`), '55b80dd4eb6742481c62c05e')).toThrow(ValidationError);
    // 1,024 bytes exactly as .json; 3 more as .json.gz.
    const prefix = `${'a'.repeat(1024 - 29 - 1)}/`;
    expect(Buffer.byteLength(exportObjectKey(location(prefix), '55b80dd4eb6742481c62c05e'))).toBe(1024);
    expect(() => exportObjectKey(location(prefix), '55b80dd4eb6742481c62c05e', ExportCompression.Gzip)).toThrow(ValidationError);
  });
});
