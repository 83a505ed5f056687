// The totals a worker's status carries for the status page's rates.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostLabels, TrafficCounters } from '../../src/proxy/traffic.js';

describe('TrafficCounters.summary', () => {
  it('counts requests and 5xx answers over every method and labelled host, backend errors of every reason, and retries', () => {
    const traffic = new TrafficCounters();
    const labels = new HostLabels(['api.test']);
    traffic.requestDone('GET', 200, 0.01, 'www.test', labels);
    traffic.requestDone('POST', 502, 0.01, 'www.test', labels);
    traffic.requestDone('PURGE', 599, 0.01, 'api.test', labels); // an "other" method, on a labelled host
    traffic.requestDone('GET', 499, 0.01, 'api.test', labels);
    traffic.requestDone('GET', 0, 0.01, null, null); // the client left: a request, not a 5xx
    traffic.backendError('CONNECT_REFUSED');
    traffic.backendError('ALL_BACKENDS_DEAD');
    traffic.retries = 3;
    assert.deepEqual(traffic.summary(), { requests: 5, status5xx: 2, backendErrors: 2, retries: 3 });
  });
});
