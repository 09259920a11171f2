/**
 * Forecasting real series with several correlated variables, each against baselines computed
 * from the same windows: persistence (y_{t+h} = y_t), seasonal naive (y_{t+h−period}) and a
 * least-squares linear autoregression on the model's own inputs.
 *
 *   - Seattle weather (vega-datasets, 2012–2015): next-day temp_max from the last 7 days of
 *     precipitation, temp_max, temp_min, wind; train 2012–2014, test 2015.
 *   - Mauna Loa CO2 (monthly, 1965–2020 with no gaps): 12 months ahead from the last 24 months
 *     of CO2 and seasonally adjusted CO2; test: the last 12 target months.
 *   - Stocks (AAPL, AMZN, IBM, MSFT; GOOG starts in 2004 and is left out): next month's log
 *     price of all four from the last 12 months of all four; test: the last 12 target months.
 *   - Missing values: the weather run again with 10 % of the input values removed at random;
 *     a GRU that sees a mask channel against one fed mean-imputed inputs (and the linear AR
 *     on mean-imputed inputs). Targets are scored against the true values.
 *
 *   npm run example -- forecast [--out docs/figures]
 */
import * as fs from 'fs';
import * as path from 'path';
import { Rng } from '@unfold/tensor';
import { linePlot } from '@unfold/rnn';
import { sayer } from '../common';
import { loadVegaCsv, num } from './data';
import { Errors, SeriesSpec, Windows, errors, fitGru, linearAR, makeWindows } from './window';

export function weatherSpec(): SeriesSpec {
  const f = 'seattle-weather.csv';
  const rows = loadVegaCsv(f);
  const columns = ['precipitation', 'temp_max', 'temp_min', 'wind'];
  return {
    values: rows.map((r) => columns.map((c) => num(f, r, c))), columns, targets: [1], inputLen: 7, horizon: 1, period: 365,
    testFrom: rows.findIndex((r) => r.date >= '2015-01-01'), relative: false,
  };
}

export function co2Spec(): SeriesSpec {
  const f = 'co2-concentration.csv';
  const rows = loadVegaCsv(f).filter((r) => r.Date >= '1965-01-01');
  const values = rows.map((r) => [num(f, r, 'CO2'), num(f, r, 'adjusted CO2')]);
  return { values, columns: ['CO2', 'adjusted CO2'], targets: [0], inputLen: 24, horizon: 12, period: 12, testFrom: values.length - 12, relative: true };
}

export function stocksSpec(): SeriesSpec {
  const f = 'stocks.csv';
  const rows = loadVegaCsv(f);
  const symbols = ['AAPL', 'AMZN', 'IBM', 'MSFT'];
  const by = symbols.map((s) => rows.filter((r) => r.symbol === s).map((r) => Math.log(num(f, r, 'price'))));
  const T = Math.min(...by.map((v) => v.length));
  const values = Array.from({ length: T }, (_, t) => by.map((v) => v[t]));
  return { values, columns: symbols, targets: [0, 1, 2, 3], inputLen: 12, horizon: 1, period: 12, testFrom: T - 12, relative: true };
}

/** A copy of the spec with a fraction of the input values (not the truth) removed at random. */
export function withMissing(s: SeriesSpec, fraction: number, seed: number, maskChannel: boolean): SeriesSpec {
  const rng = new Rng(seed);
  return { ...s, truth: s.values, maskChannel, values: s.values.map((r) => r.map((v) => (rng.next() < fraction ? NaN : v))) };
}

export interface MethodScores {
  persistence: Errors;
  seasonal: Errors;
  linearAR: Errors;
  gru: Errors;
  gruSeconds: number;
  gruSteps: number;
}

export interface ForecastRun {
  name: string;
  windows: Windows;
  scores: MethodScores;
  gruForecast: (n: number) => number[];
  arForecast: (n: number) => number[];
}

export function runSeries(name: string, spec: SeriesSpec, o: { steps?: number; hiddenSize?: number; seed?: number; trainLimit?: number } = {}): ForecastRun {
  const w = makeWindows(spec);
  if (o.trainLimit !== undefined) w.train = w.train.slice(-o.trainLimit);
  const ar = linearAR(w);
  const g = fitGru(w, { steps: o.steps, hiddenSize: o.hiddenSize, seed: o.seed });
  const scores: MethodScores = {
    persistence: errors(w, w.test, (n) => w.last[n]),
    seasonal: errors(w, w.test, (n) => w.seasonal[n].map((v, k) => (Number.isNaN(v) ? w.last[n][k] : v))),
    linearAR: errors(w, w.test, ar),
    gru: errors(w, w.test, g.forecast),
    gruSeconds: g.seconds, gruSteps: g.steps,
  };
  return { name, windows: w, scores, gruForecast: g.forecast, arForecast: ar };
}

/** Forecasts vs truth over test windows [from, to) (x: their position in the test span, from 1). */
function plotRun(r: ForecastRun, title: string, xLabel: string, yLabel: string, from = 0, to = Infinity, k = 0): string {
  const idx = r.windows.test.slice(from, to);
  const x = idx.map((_, i) => from + i + 1);
  return linePlot({
    title, xLabel, yLabel, width: 720, height: 320,
    series: [
      { name: 'truth', x, y: idx.map((n) => r.windows.truth[n][k]) },
      { name: 'GRU', x, y: idx.map((n) => r.gruForecast(n)[k]) },
      { name: 'linear AR', x, y: idx.map((n) => r.arForecast(n)[k]), dashed: true },
      { name: 'persistence', x, y: idx.map((n) => r.windows.last[n][k]), dashed: true },
    ],
  });
}

function main(argv: string[]): void {
  const say = sayer(false);
  const oi = argv.indexOf('--out');
  const out = oi >= 0 ? argv[oi + 1] : 'docs/figures';
  const row = (m: string, e: Errors): string => `    ${m.padEnd(28)} MAE ${e.mae.toFixed(3).padStart(8)}   RMSE ${e.rmse.toFixed(3).padStart(8)}`;
  const report = (r: ForecastRun, unit: string): void => {
    const s = r.scores;
    say(`${r.name}: ${r.windows.train.length} training windows, ${r.windows.test.length} test windows (errors in ${unit})`);
    say(row('persistence', s.persistence));
    say(row('seasonal naive', s.seasonal));
    say(row('linear AR (least squares)', s.linearAR));
    say(row(`GRU (${s.gruSteps} steps, ${s.gruSeconds.toFixed(1)} s)`, s.gru));
  };
  const weather = runSeries('Seattle weather, next-day temp_max', weatherSpec());
  report(weather, '°C');
  const co2 = runSeries('Mauna Loa CO2, 12 months ahead', co2Spec());
  report(co2, 'ppm');
  const stocks = runSeries('Stocks (4 symbols), next month', stocksSpec());
  report(stocks, 'log price, ≈ relative error');
  const masked = runSeries('Weather, 10 % inputs missing, GRU with mask channel', withMissing(weatherSpec(), 0.1, 5, true));
  const imputed = runSeries('Weather, 10 % inputs missing, mean imputation', withMissing(weatherSpec(), 0.1, 5, false));
  say('Missing values (weather, 10 % of inputs removed at random; scored against the true temp_max):');
  say(row('persistence (last observed)', imputed.scores.persistence));
  say(row('linear AR, mean-imputed', imputed.scores.linearAR));
  say(row('linear AR, with mask inputs', masked.scores.linearAR));
  say(row('GRU, mean-imputed', imputed.scores.gru));
  say(row('GRU, with mask channel', masked.scores.gru));
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'forecast-weather.svg'), plotRun(weather, 'Seattle, Oct–Dec 2015: next-day temp_max, forecast vs truth', 'day of 2015', 'temp_max (°C)', 273));
  fs.writeFileSync(path.join(out, 'forecast-co2.svg'), plotRun(co2, 'Mauna Loa CO2, 12 months ahead: May 2019 – Apr 2020', 'test month', 'CO2 (ppm)'));
  say(`plots: ${path.join(out, 'forecast-weather.svg')}, ${path.join(out, 'forecast-co2.svg')}`);
}

if (require.main === module) main(process.argv.slice(2));
