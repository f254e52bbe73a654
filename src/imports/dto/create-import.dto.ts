import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, Matches, MaxLength } from 'class-validator';

/** AWS access keys and secrets are printable ASCII; anything else (CR/LF, NUL) would break request signing. */
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/** Body of `POST /event-import` (Connect docs, "Importing events"). */
export class CreateImportDto {
  @ApiProperty({ description: 'The collection the events go to (the same names as `POST /events/:collection`).', example: 'purchases' })
  @MaxLength(1024)
  @IsString()
  collection: string;

  @ApiProperty({
    description:
      'The object to import: `s3://<bucket>/<key>`, `https://<bucket>.s3.amazonaws.com/<key>`, regional virtual-hosted or path-style ' +
      'AWS URLs, or a path-style URL of an endpoint in S3_ALLOWED_ENDPOINTS. NDJSON (one event per line), plain or gzip-compressed.',
    example: 's3://mybucket/purchases.json',
  })
  @MaxLength(2048)
  @IsNotEmpty()
  @IsString()
  s3Path: string;

  @ApiProperty({ description: 'Access key id for the object; stored encrypted, wiped when the import ends.', example: 'AKIA...' })
  @MaxLength(256)
  @Matches(PRINTABLE_ASCII, { message: '$property must be printable ASCII without spaces' })
  @IsString()
  s3AccessKeyId: string;

  @ApiProperty({ description: 'Secret access key for the object; stored encrypted, wiped when the import ends.', example: 'NOT_TELLING' })
  @MaxLength(256)
  @Matches(PRINTABLE_ASCII, { message: '$property must be printable ASCII without spaces' })
  @IsString()
  s3SecretAccessKey: string;
}
