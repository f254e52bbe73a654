import 'reflect-metadata';
import { ArgumentMetadata } from '@nestjs/common';
import { CreateS3ExportDto } from '../exports';
import { CreateProjectDto } from '../projects';
import { ValidationError } from './errors';
import { connectValidationPipe } from './validation.pipe';
import { PROTOTYPE_NAMES } from '../../test/support/property-names';

const body = (metatype: unknown): ArgumentMetadata => ({ type: 'body', metatype: metatype as ArgumentMetadata['metatype'], data: '' });
const credentials = { s3Path: 's3://bucket/prefix', s3AccessKeyId: 'AKIA', s3SecretAccessKey: 'secret' };

describe('connectValidationPipe', () => {
  const pipe = connectValidationPipe();

  it.each(PROTOTYPE_NAMES)('passes an S3 export query holding the key %s through as sent, same reference', async (name) => {
    const query = { filter: { [name]: 'nomatch', nested: { [name]: { [name]: 1 } } }, [name]: { gt: 100, [name]: 1 } };
    const snapshot = JSON.stringify(query);
    const dto = (await pipe.transform({ ...credentials, query }, body(CreateS3ExportDto))) as CreateS3ExportDto;
    expect(dto).toBeInstanceOf(CreateS3ExportDto);
    expect(dto.query).toBe(query);
    expect(JSON.stringify(dto.query)).toBe(snapshot);
    expect(Object.keys(dto.query as object)).toEqual(['filter', name]);
  });

  it('keeps a non-plain value inside the query (e.g. a lossless big number) untouched', async () => {
    class BigNumberLike {
      constructor(readonly digits: string) {}
      toJSON(): string {
        return this.digits;
      }
    }
    const big = new BigNumberLike('123456789012345678901234567890');
    const query = { filter: { id2: { eq: big } } };
    const dto = (await pipe.transform({ ...credentials, query }, body(CreateS3ExportDto))) as CreateS3ExportDto;
    expect((dto.query as typeof query).filter.id2.eq).toBe(big);
  });

  it('still validates the raw property with its own rules, and the other properties as before', async () => {
    await expect(pipe.transform({ ...credentials, query: 5 }, body(CreateS3ExportDto))).rejects.toEqual(
      new ValidationError([{ field: 'query', description: 'The query JSON supplied is not valid.' }]),
    );
    await expect(pipe.transform({ ...credentials, s3Path: 5 }, body(CreateS3ExportDto))).rejects.toBeInstanceOf(ValidationError);
    const dto = (await pipe.transform({ ...credentials, query: '{filter: {toString: 1}}', extra: 1 }, body(CreateS3ExportDto))) as Record<
      string,
      unknown
    >;
    expect(dto.query).toBe('{filter: {toString: 1}}');
    expect(dto).not.toHaveProperty('extra'); // unknown top-level keys are still dropped (whitelist)
  });

  it('leaves DTOs without @RawJson() properties to the stock pipe', async () => {
    const dto = await pipe.transform({ name: 'toString', constructor: 'x' }, body(CreateProjectDto));
    expect(dto).toEqual(Object.assign(new CreateProjectDto(), { name: 'toString' }));
  });
});
