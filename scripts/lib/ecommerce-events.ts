import { Faker, en } from '@faker-js/faker';

/** Options of the seeded e-commerce data set used by the demo, tests and benchmarks. */
export interface EcommerceOptions {
  /** Same seed, same events (ids, timestamps, properties). */
  seed: number;
  /** Exclusive end of the time window (UTC). */
  end: Date;
  /** Length of the window, days. */
  days: number;
}

const CATEGORIES = ['Bikes', 'Books', 'Electronics', 'Garden', 'Toys', 'Clothing', 'Kitchen', 'Sports'];
const PAYMENT_METHODS = ['card', 'paypal', 'bank-transfer', 'gift-card'];
const DEVICES = [
  { type: 'mobile', os: 'iOS' },
  { type: 'mobile', os: 'Android' },
  { type: 'desktop', os: 'Windows' },
  { type: 'desktop', os: 'macOS' },
  { type: 'tablet', os: 'iPadOS' },
];
const COUNTRIES = ['Australia', 'Italy', 'United States', 'Germany', 'Japan', 'Brazil', 'Canada'];

/**
 * A reproducible stream of realistic purchase events (about 400 bytes of JSON each) with nested
 * objects, strings, numbers, booleans and an occasional null, spread uniformly over the window.
 */
export function* ecommerceEvents(count: number, options: EcommerceOptions): Generator<Record<string, unknown>> {
  const faker = new Faker({ locale: [en], seed: options.seed });
  const endMs = options.end.getTime();
  const spanMs = options.days * 24 * 3600 * 1000;
  for (let i = 0; i < count; i++) {
    const price = faker.number.float({ min: 2, max: 900, fractionDigits: 2 });
    const quantity = faker.number.int({ min: 1, max: 5 });
    yield {
      id: faker.string.uuid(),
      timestamp: new Date(endMs - spanMs + faker.number.int({ min: 0, max: spanMs - 1 })).toISOString(),
      customer: {
        id: `C-${faker.number.int({ min: 1, max: 20000 })}`,
        firstName: faker.person.firstName(),
        lastName: faker.person.lastName(),
        age: faker.number.int({ min: 18, max: 85 }),
        isReturning: faker.datatype.boolean(),
        address: { city: faker.location.city(), country: faker.helpers.arrayElement(COUNTRIES) },
      },
      product: {
        sku: faker.string.alphanumeric({ length: 8, casing: 'upper' }),
        name: faker.commerce.productName(),
        category: faker.helpers.arrayElement(CATEGORIES),
        price,
      },
      quantity,
      totalPrice: Math.round(price * quantity * 100) / 100,
      paymentMethod: faker.helpers.arrayElement(PAYMENT_METHODS),
      coupon: faker.datatype.boolean({ probability: 0.2 }) ? faker.string.alpha({ length: 6, casing: 'upper' }) : null,
      device: faker.helpers.arrayElement(DEVICES),
    };
  }
}
