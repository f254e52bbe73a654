import { ApiProperty } from '@nestjs/swagger';

/** Connect's general error body (Connect docs, "HTTP API"). */
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

/** Connect's validation error body: `422 {"errors": [{"field", "description"}]}` (Connect docs, "HTTP API"). */
export class ValidationErrorDto {
  @ApiProperty({ type: [FieldErrorDto] })
  errors: FieldErrorDto[];
}
