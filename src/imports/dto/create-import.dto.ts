import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { S3CredentialsDto } from '../../s3';

/** Body of `POST /event-import` (Connect docs, "Importing events"). */
export class CreateImportDto extends S3CredentialsDto {
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
}
