// `node -r runtime-sampler/register app.js` or `node --import runtime-sampler/register app.js`:
// monitoring with no code change (see server/preload.ts and the README's "Zero-code use").
import { startPreload } from './server/preload';

startPreload();
