import { ApiProperty } from '@nestjs/swagger';

/** Connect's general error body (connect-api.md §1). */
export class ErrorMessageDto {
  @ApiProperty({ example: 'An error occurred while processing your request' })
  errorMessage: string;
}

/** One invalid field of a 422 response. */
export class FieldErrorDto {
  @ApiProperty({ example: 'query' })
  field: string;

  @ApiProperty({ example: 'The query JSON supplied is not valid.' })
  description: string;
}

/** Connect's validation error body: `422 {"errors": [{"field", "description"}]}` (connect-api.md §1). */
export class ValidationErrorDto {
  @ApiProperty({ type: [FieldErrorDto] })
  errors: FieldErrorDto[];
}
