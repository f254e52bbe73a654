import { ApiProperty } from '@nestjs/swagger';

/**
 * Connect's general error body (Connect docs, "HTTP API"). Each response documents its own example
 * bodies (common/dto/error-examples.ts), so the property has none: a schema example would show one
 * status's message under every other.
 */
export class ErrorMessageDto {
  @ApiProperty({ description: 'What went wrong, for a person to read.' })
  errorMessage: string;
}

/** One invalid field of a 422 response. */
export class FieldErrorDto {
  @ApiProperty({ example: 'query' })
  field: string;

  @ApiProperty({ example: 'The query JSON supplied is not valid.' })
  description: string;
}

/** Connect's validation error body: `422 {"errors": [{"field", "description"}]}` (Connect docs, "HTTP API"). */
export class ValidationErrorDto {
  @ApiProperty({ type: [FieldErrorDto] })
  errors: FieldErrorDto[];
}
