/**
 * @chainrule/nn/node: the Node-only half of `@chainrule/nn`: safetensors checkpoints as files
 * (`save`/`load`, `saveSync`/`loadSync`, `saveSafetensors`/`loadSafetensors`) and atomic file
 * writes. In a browser use `encode`/`decode` (bytes) from `@chainrule/nn`.
 * @module \@chainrule/nn/node
 */
export { writeFileAtomic, writeFileAtomicSync } from './atomic.ts';
export { load, loadSafetensors, loadSync, save, saveSafetensors, saveSync } from './files.ts';
