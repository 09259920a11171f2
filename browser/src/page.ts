// The browser test page: the program's functions on window, for puppeteer to call.
import * as program from './program';

(globalThis as unknown as { unfoldTest: typeof program }).unfoldTest = program;
document.body.dataset.ready = '1';
