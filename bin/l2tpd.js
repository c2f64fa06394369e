#!/usr/bin/env node
// l2tpd: the L2TP daemon (see docs/CONFIG.md). Built code lives in dist/ (npm run build).
import '../dist/src/daemon/l2tpd-main.js';
