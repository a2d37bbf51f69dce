// A webpack loader running the repository's swc transform (scripts/register-ts.js), as ESM output so
// webpack can tree-shake; used by the SDK browser-bundle test only.
'use strict';
const swc = require('@swc/core');
const { swcOptions } = require('../../scripts/register-ts');

module.exports = function swcLoader(source) {
  const out = swc.transformSync(source, { ...swcOptions, module: { type: 'es6' }, sourceMaps: false, filename: this.resourcePath });
  return out.code;
};
