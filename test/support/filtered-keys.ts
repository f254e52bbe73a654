import { createCipheriv, randomBytes } from 'node:crypto';

/** Options of `makeFilteredKey`, for the malformed variants the tests need. */
export interface FilteredKeyOptions {
  /** Hex case of the key: upper as connect-python/-rb/-java/-net write it (default), lower as connect-php does. */
  case?: 'upper' | 'lower';
  /** The IV (16 bytes); random by default. */
  iv?: Buffer;
}

/**
 * A filtered key as the Connect SDKs generate one (Connect docs, "Generating a filtered key"),
 * written here from that description, independently of the service's code: the definition's
 * JSON (or the given text) encrypted with AES-256-CBC, PKCS#7 padding, a random 128-bit IV and the
 * master key's UTF-8 bytes as the key; `<IV hex>-<ciphertext hex>`.
 */
export function makeFilteredKey(definition: unknown, masterKey: string, options: FilteredKeyOptions = {}): string {
  const iv = options.iv ?? randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', Buffer.from(masterKey, 'utf8'), iv);
  const text = typeof definition === 'string' ? definition : JSON.stringify(definition);
  const key = `${iv.toString('hex')}-${Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]).toString('hex')}`;
  return options.case === 'lower' ? key : key.toUpperCase();
}

/** Raw AES-256-CBC without padding of whole blocks, for keys whose padding is wrong on purpose. */
export function encryptBlocks(plaintext: Buffer, masterKey: string, iv = randomBytes(16)): string {
  if (plaintext.length % 16 !== 0) throw new Error('whole blocks only');
  const cipher = createCipheriv('aes-256-cbc', Buffer.from(masterKey, 'utf8'), iv);
  cipher.setAutoPadding(false);
  return `${iv.toString('hex')}-${Buffer.concat([cipher.update(plaintext), cipher.final()]).toString('hex')}`.toUpperCase();
}
