import { describe, expect, it } from 'vitest';
import { emptyPlant, type PlantState } from './plant';
import { gatewaysByName, plantView } from './plantView';
import type { Device, Gateway, Relay } from './types';

const gateway = (id: string, name: string | null, devices: string[] = [], relays: string[] = []) =>
  ({
    id,
    online: true,
    name,
    version: '1',
    ts: 1,
    status: 'online',
    silent_since: null,
    silent_after: null,
    device_order: devices,
    relay_order: relays,
  }) satisfies Gateway;

const device = (gw: string, id: string, name: string | null = null): Device => ({
  gateway: gw,
  id,
  name,
  kind: 'temperature',
  unit: '°C',
  value: 1,
  ts: 1,
  seq: 1,
  quality: 'good',
});

const relay = (gw: string, id: string, name: string | null = null): Relay => ({
  gateway: gw,
  id,
  name,
  on: false,
  ts: 1,
  seq: 1,
  cmd: null,
  quality: 'good',
  safe_state: false,
});

function plant(gateways: Gateway[], devices: Device[], relays: Relay[] = []): PlantState {
  return {
    ...emptyPlant,
    version: 1,
    gateways: Object.fromEntries(gateways.map((g) => [g.id, g])),
    devices: Object.fromEntries(devices.map((d) => [`${d.gateway}/${d.id}`, d])),
    relays: Object.fromEntries(relays.map((r) => [`${r.gateway}/${r.id}`, r])),
  };
}

describe('the order of the plant screen', () => {
  it('sorts gateways by name, numbers as numbers, whatever arrived first', () => {
    const p = plant(
      [gateway('b', 'Line 10'), gateway('c', 'Line 2'), gateway('a', 'Assembly')],
      [],
    );
    expect(gatewaysByName(p)).toEqual(['a', 'c', 'b']);
  });

  it("keeps a gateway's devices and relays in its meta order, unlisted ones after by id", () => {
    const p = plant(
      [gateway('gw', 'GW', ['temp', 'hum', 'press'], ['r2', 'r1'])],
      // Arrival order: the reverse of the meta's, plus one the meta does not list.
      [device('gw', 'press'), device('gw', 'zz'), device('gw', 'hum'), device('gw', 'temp')],
      [relay('gw', 'r1'), relay('gw', 'r2')],
    );
    const [view] = plantView(p, '');
    expect(view?.devices).toEqual(['gw/temp', 'gw/hum', 'gw/press', 'gw/zz']);
    expect(view?.relays).toEqual(['gw/r2', 'gw/r1']);
  });

  it('lists a gateway seen only through its data, under its id', () => {
    const p = plant([], [device('lonely', 'x')]);
    expect(plantView(p, '')).toEqual([
      { id: 'lonely', name: 'lonely', devices: ['lonely/x'], relays: [] },
    ]);
  });
});

describe('the search box', () => {
  const p = plant(
    [gateway('line1', 'Press shop', ['t', 'h'], ['pump']), gateway('line2', 'Paint', ['t'])],
    [
      device('line1', 't', 'Oven temperature'),
      device('line1', 'h', 'Humidity'),
      device('line2', 't', 'Booth temperature'),
    ],
    [relay('line1', 'pump', 'Coolant pump')],
  );

  it('shows everything of a gateway whose name or id matches', () => {
    expect(plantView(p, 'press').map((v) => [v.id, v.devices.length, v.relays.length])).toEqual([
      ['line1', 2, 1],
    ]);
    expect(plantView(p, 'LINE2')[0]?.devices).toEqual(['line2/t']);
  });

  it('shows only the matching devices and relays of other gateways, by name or id', () => {
    expect(plantView(p, ' temperature ').map((v) => [v.id, v.devices])).toEqual([
      ['line2', ['line2/t']],
      ['line1', ['line1/t']],
    ]);
    expect(plantView(p, 'coolant').map((v) => [v.id, v.devices, v.relays])).toEqual([
      ['line1', [], ['line1/pump']],
    ]);
    expect(plantView(p, 'pump')[0]?.relays).toEqual(['line1/pump']);
  });

  it('leaves out gateways with nothing that matches', () => {
    expect(plantView(p, 'nothing like this')).toEqual([]);
  });
});
