import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Max,
  Min,
  Validate,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { collectionNameProblem } from '../../common';
import { ExportStatus } from '../entities/export.entity';
import { ExportStatusDto } from './export-status.dto';

/** Most exports one page of GET /exports holds. */
export const MAX_EXPORT_LIST_LIMIT = 100;

function collectionProblem(value: unknown): string | null {
  return typeof value === 'string' ? collectionNameProblem(value) : 'collection must be given once, as text.';
}

@ValidatorConstraint({ name: 'isCollectionName' })
class IsCollectionName implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return collectionProblem(value) === null;
  }
  defaultMessage(args: ValidationArguments): string {
    return collectionProblem(args.value) ?? 'Invalid collection name.';
  }
}

/**
 * Query parameters of `GET /exports` (docs/exports.md, "Listing"). A parameter given twice arrives
 * as an array and is a 422 on that field; unknown parameters are ignored.
 */
export class ListExportsQueryDto {
  @ApiPropertyOptional({ description: 'Only exports of this collection (exact name, as in the export path).' })
  @IsOptional()
  @Validate(IsCollectionName)
  collection?: string;

  @ApiPropertyOptional({ enum: ExportStatus, description: 'Only exports in this status.' })
  @IsOptional()
  @IsIn(Object.values(ExportStatus), { message: 'status must be one of Pending, Running, Complete, Failed' })
  status?: ExportStatus;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: MAX_EXPORT_LIST_LIMIT,
    default: 20,
    description: `Exports per page, 1–${MAX_EXPORT_LIST_LIMIT}.`,
  })
  // Only plain decimal digits become a number ('1e1', ' 5', '0x10' stay text and are refused).
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : value))
  @IsOptional()
  @IsInt({ message: `limit must be an integer from 1 to ${MAX_EXPORT_LIST_LIMIT}` })
  @Min(1, { message: `limit must be an integer from 1 to ${MAX_EXPORT_LIST_LIMIT}` })
  @Max(MAX_EXPORT_LIST_LIMIT, { message: `limit must be an integer from 1 to ${MAX_EXPORT_LIST_LIMIT}` })
  limit?: number;

  @ApiPropertyOptional({
    description: 'The `next` value of the previous page; absent for the first page.',
  })
  @IsOptional()
  @IsString({ message: 'cursor must be given once, as the `next` value of an earlier answer' })
  cursor?: string;
}

/** One export of a GET /exports page: its id and its monitor document, field for field. */
export class ExportListItemDto extends ExportStatusDto {
  @ApiProperty({ example: '55b80dd4eb6742481c62c05e', description: 'Export id (as in the monitor URL /events/:collection/export/:id).' })
  id: string;
}

/** Body of `GET /exports`: a page of exports, newest first, and the cursor of the next page. */
export class ExportListDto {
  @ApiProperty({ type: [ExportListItemDto] })
  results: ExportListItemDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Opaque cursor: pass it as `cursor` for the next page; null on the last page.',
    example: null,
  })
  next: string | null;
}
