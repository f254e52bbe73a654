import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';

/** AWS access keys and secrets are printable ASCII; anything else (CR/LF, NUL) would break request signing. */
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/** The S3 credentials of a request body (an S3 export's, an import's): stored encrypted, wiped when the job ends. */
export class S3CredentialsDto {
  @ApiProperty({ description: 'Access key id for the bucket; stored encrypted, wiped when the export or import ends.', example: 'AKIA...' })
  @MaxLength(256)
  @Matches(PRINTABLE_ASCII, { message: '$property must be printable ASCII without spaces' })
  @IsString()
  s3AccessKeyId: string;

  @ApiProperty({
    description: 'Secret access key for the bucket; stored encrypted, wiped when the export or import ends.',
    example: 'NOT_TELLING',
  })
  @MaxLength(256)
  @Matches(PRINTABLE_ASCII, { message: '$property must be printable ASCII without spaces' })
  @IsString()
  s3SecretAccessKey: string;
}
