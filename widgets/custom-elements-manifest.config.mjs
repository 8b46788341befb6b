/**
 * @custom-elements-manifest/analyzer's configuration (`npm run build` → dist/custom-elements.json).
 *
 * The analyzer reads the three public elements' attributes and properties from Lit's
 * `static properties`; `publicApi()` keeps the public ones (no `_` names, no internal state),
 * adds what code cannot say (public-api.mjs: descriptions, events, parts, custom properties),
 * refuses a public member that public-api.mjs does not describe (or the reverse), and names the
 * module the package ships (dist/comfort.js) instead of the sources.
 */
import { CSS_PROPERTIES, ELEMENTS, LANG_ATTRIBUTE } from './public-api.mjs';

const SHIPPED = 'dist/comfort.js';
const SOURCES = Object.keys(ELEMENTS).map((tag) => `src/${tag}.js`);

function publicApi() {
  return {
    name: 'session-comfort-public-api',
    packageLinkPhase({ customElementsManifest: manifest }) {
      const declarations = [];
      const exports = [];
      for (const module of manifest.modules) {
        for (const declaration of module.declarations ?? []) {
          const api = declaration.tagName && ELEMENTS[declaration.tagName];
          if (!api) continue;
          declarations.push(describe(declaration, api));
          exports.push(
            { kind: 'js', name: declaration.name, declaration: { name: declaration.name, module: SHIPPED } },
            {
              kind: 'custom-element-definition',
              name: declaration.tagName,
              declaration: { name: declaration.name, module: SHIPPED },
            },
          );
        }
      }
      const missing = Object.keys(ELEMENTS).filter((tag) => !declarations.some((d) => d.tagName === tag));
      if (missing.length) throw new Error(`no element found for ${missing.join(', ')}`);
      manifest.modules = [{ kind: 'javascript-module', path: SHIPPED, declarations, exports }];
    },
  };
}

function describe(declaration, api) {
  const isPublic = (m) => !m.name.startsWith('_') && !m.static && m.privacy !== 'private';
  const members = (declaration.members ?? []).filter(isPublic);
  const found = new Set(members.map((m) => m.name));
  const described = new Set(Object.keys(api.properties));
  const undescribed = [...found].filter((n) => !described.has(n));
  const gone = [...described].filter((n) => !found.has(n));
  if (undescribed.length || gone.length) {
    throw new Error(
      `<${declaration.tagName}>: public members not in public-api.mjs: [${undescribed}]; ` +
        `in public-api.mjs but not in the source: [${gone}]`,
    );
  }
  for (const member of members) {
    member.description = api.properties[member.name];
    delete member.inheritedFrom;
  }
  const attributes = (declaration.attributes ?? [])
    .filter((a) => !a.name.startsWith('_') && !(a.fieldName ?? '').startsWith('_'))
    .map((a) => ({ ...a, description: api.properties[a.fieldName] ?? a.description }));
  attributes.push(LANG_ATTRIBUTE);
  return {
    kind: 'class',
    name: declaration.name,
    tagName: declaration.tagName,
    customElement: true,
    description: api.description,
    superclass: { name: 'LitElement', package: 'lit' },
    attributes,
    members,
    events: api.events,
    cssParts: api.parts,
    cssProperties: CSS_PROPERTIES,
  };
}

export default {
  globs: SOURCES,
  outdir: 'dist',
  litelement: true,
  packagejson: false,
  plugins: [publicApi()],
};
