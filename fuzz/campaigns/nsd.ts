import type { Campaign } from '../lib.js';

/** Placeholder until the campaign is written: it fails, so a run never looks green without it. */
export const campaign: Campaign = {
  name: 'nsd',
  description: 'not written yet',
  run() {
    return { counts: {}, failures: [{ case: '-', message: 'campaign nsd is not written yet' }] };
  },
};
