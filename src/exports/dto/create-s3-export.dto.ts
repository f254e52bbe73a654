import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { isExactNumber, RawJson } from '../../common';
import {
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  MaxLength,
  Validate,
  ValidateIf,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { S3CredentialsDto } from '../../s3';
import { ExportCompression } from '../entities/export.entity';

@ValidatorConstraint({ name: 'isQueryDocument' })
class IsQueryDocument implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    // An ExactNumber (common/json-text.ts: a number such as 1.50 read from the body) is an object too.
    return typeof value === 'string' || (typeof value === 'object' && value !== null && !Array.isArray(value) && !isExactNumber(value));
  }
  defaultMessage(): string {
    return 'The query JSON supplied is not valid.';
  }
}

/** Body of `POST /events/:collection/export` (Connect docs, "Exporting events": "Exporting to Amazon S3"). */
export class CreateS3ExportDto extends S3CredentialsDto {
  @ApiPropertyOptional({
    description: 'Query with only `filter` and `timeframe` (and `timezone` with a relative timeframe). Absent: every event.',
    example: { filter: { product: 'apple' }, timeframe: 'today' },
    oneOf: [{ type: 'object' }, { type: 'string' }],
  })
  // Passed through as sent (no copy, no key dropped): it goes to the same parser as `GET …/export?query=`.
  @RawJson()
  @IsOptional()
  @Validate(IsQueryDocument)
  query?: Record<string, unknown> | string;

  @ApiProperty({
    description:
      'Where to write `<id>.json` (`<id>.json.gz` with gzip compression): `s3://<bucket>/<prefix>`, `https://<bucket>.s3.amazonaws.com/<prefix>`, ' +
      'regional virtual-hosted or path-style AWS URLs, or a path-style URL of an endpoint in S3_ALLOWED_ENDPOINTS.',
    example: 'https://my-bucket.s3.amazonaws.com/exports/',
  })
  // class-validator checks the bottom rule first, and stops at the first failure.
  @MaxLength(2048)
  @IsNotEmpty()
  @IsString()
  s3Path: string;

  @ApiPropertyOptional({
    enum: ExportCompression,
    default: ExportCompression.None,
    description:
      '`none` (default): the object is `<prefix><id>.json`, plain NDJSON. `gzip`: the object is `<prefix><id>.json.gz`, ' +
      "the same NDJSON gzip-compressed (the monitor's `filename` says which).",
    example: ExportCompression.Gzip,
  })
  // Absent means `none`; null or any other value is a 422 on `compression`.
  @ValidateIf((dto: CreateS3ExportDto) => dto.compression !== undefined)
  @IsIn(Object.values(ExportCompression), { message: 'compression must be "none" or "gzip"' })
  compression?: ExportCompression;
}
