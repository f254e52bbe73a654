/**
 * Property names that are members of Object.prototype (or special to class-transformer and Nest):
 * ordinary property paths for the API, which tests check nothing drops or misreads.
 */
export const PROTOTYPE_NAMES = [
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
];
