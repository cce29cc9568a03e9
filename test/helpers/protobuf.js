// Decodes the Prometheus protobuf exposition (delimited io.prometheus.client.MetricFamily)
// with protobufjs and client_model's metrics.proto (test/fixtures/metrics.proto).
const path = require('node:path');
const protobuf = require('protobufjs');

const root = protobuf.loadSync(path.join(__dirname, '..', 'fixtures', 'metrics.proto'));
const MetricFamily = root.lookupType('io.prometheus.client.MetricFamily');

function decodeProtobuf(bytes) {
  const r = protobuf.Reader.create(bytes);
  const out = [];
  while (r.pos < r.len) out.push(MetricFamily.toObject(MetricFamily.decodeDelimited(r), { longs: Number, enums: String, defaults: false }));
  return out;
}

module.exports = { decodeProtobuf, MetricFamily };
