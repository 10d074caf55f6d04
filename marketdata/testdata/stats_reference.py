#!/usr/bin/env python3
"""Independent reference values for marketdata's statistics tests.

Reads GOOG.csv (daily bars, oldest first) with the Python standard library
only and prints the statistics finkit's marketdata.Analyze and indicator
functions compute, as JSON. The Go test compares its results with the saved
output (stats_expected.json); regenerate with:

    python3 stats_reference.py GOOG.csv > stats_expected.json

Definitions (same as the package documentation): daily simple returns of
Close; sample standard deviation (n-1); annualization with 252 trading days;
Sharpe = (mean - rf/252) / sd * sqrt(252) with rf = 0.02; CAGR over calendar
years of 365.25 days; period changes from the last close on or before the
calendar start date (YTD: last close before 1 January); Wilder RSI(14);
Bollinger(20, 2) with population deviation; EMA(20) seeded with SMA(20);
a 10-bin histogram of returns from min to max.
"""
import csv
import datetime as dt
import json
import math
import statistics
import sys


def add_months(d, months):
    # Go's time.AddDate normalizes overflowing days (31 Mar - 1 month = 3 Mar).
    y, m = divmod(d.month - 1 + months, 12)
    return dt.date(d.year + y, m + 1, 1) + dt.timedelta(days=d.day - 1)


def main(path):
    dates, closes = [], []
    with open(path, newline="") as f:
        r = csv.reader(f)
        next(r)
        for row in r:
            dates.append(dt.date.fromisoformat(row[0]))
            closes.append(float(row[4]))
    n = len(closes)
    rets = [closes[i] / closes[i - 1] - 1 for i in range(1, n)]
    out = {"bars": n, "first": str(dates[0]), "last": str(dates[-1]),
           "last_close": closes[-1], "prev_close": closes[-2],
           "change": closes[-1] - closes[-2], "change_pct": (closes[-1] - closes[-2]) / closes[-2] * 100}

    up = [r for r in rets if r > 0]
    down = [r for r in rets if r < 0]
    out["up_days"], out["down_days"] = len(up), len(down)
    out["flat_days"] = len(rets) - len(up) - len(down)
    out["up_pct"] = len(up) / len(rets) * 100
    out["avg_gain"] = sum(up) / len(up)
    out["avg_loss"] = sum(down) / len(down)
    gi = max(range(len(rets)), key=lambda i: (rets[i], -i))
    li = min(range(len(rets)), key=lambda i: (rets[i], i))
    out["max_gain"], out["max_gain_date"] = rets[gi], str(dates[gi + 1])
    out["max_loss"], out["max_loss_date"] = rets[li], str(dates[li + 1])

    def longest(sign):
        best, best_end, run = 0, None, 0
        for i, r in enumerate(rets):
            run = run + 1 if (r > 0 if sign > 0 else r < 0) else 0
            if run > best:
                best, best_end = run, dates[i + 1]
        return best, str(best_end)
    out["longest_up"], out["longest_up_end"] = longest(1)
    out["longest_down"], out["longest_down_end"] = longest(-1)

    mean = statistics.fmean(rets)
    sd = statistics.stdev(rets)
    out["mean_return"], out["std_dev"] = mean, sd
    out["volatility"] = sd * math.sqrt(252)
    out["sharpe"] = (mean - 0.02 / 252) / sd * math.sqrt(252)

    # Max drawdown: largest (peak - close) / peak with the running peak.
    best, peak_i, trough_i, pk_i = 0.0, None, None, 0
    for i in range(n):
        if closes[i] > closes[pk_i]:
            pk_i = i
        dd = (closes[pk_i] - closes[i]) / closes[pk_i]
        if dd > best:
            best, peak_i, trough_i = dd, pk_i, i
    out["max_drawdown"] = best
    out["drawdown_peak"], out["drawdown_trough"] = str(dates[peak_i]), str(dates[trough_i])
    rec = next((dates[i] for i in range(trough_i + 1, n) if closes[i] >= closes[peak_i]), None)
    out["recovery"] = str(rec) if rec else None

    years = (dates[-1] - dates[0]).days / 365.25
    out["years"] = years
    out["cagr"] = (closes[-1] / closes[0]) ** (1 / years) - 1

    end = dates[-1]
    starts = {"1W": end - dt.timedelta(days=7), "1M": add_months(end, -1), "3M": add_months(end, -3),
              "6M": add_months(end, -6), "1Y": add_months(end, -12), "3Y": add_months(end, -36),
              "5Y": add_months(end, -60)}
    periods = {"1D": n - 2, "Max": 0}
    for k, s in starts.items():
        idx = [i for i in range(n) if dates[i] <= s]
        periods[k] = idx[-1] if idx else None
    ytd = [i for i in range(n) if dates[i] < dt.date(end.year, 1, 1)]
    periods["YTD"] = ytd[-1] if ytd else None
    out["periods"] = {k: ({"from": str(dates[i]), "from_close": closes[i],
                           "change_pct": (closes[-1] - closes[i]) / closes[i] * 100} if i is not None else None)
                      for k, i in periods.items()}

    out["sma20_last"] = sum(closes[-20:]) / 20
    e = sum(closes[:20]) / 20
    for p in closes[20:]:
        e = e + 2 / 21 * (p - e)
    out["ema20_last"] = e
    g = sum(max(closes[i] - closes[i - 1], 0) for i in range(1, 15)) / 14
    l = sum(max(closes[i - 1] - closes[i], 0) for i in range(1, 15)) / 14
    for i in range(15, n):
        d = closes[i] - closes[i - 1]
        g = (g * 13 + max(d, 0)) / 14
        l = (l * 13 + max(-d, 0)) / 14
    out["rsi14_last"] = 100 - 100 / (1 + g / l)
    w = closes[-20:]
    m = sum(w) / 20
    psd = statistics.pstdev(w)
    out["bollinger20_last"] = {"mid": m, "upper": m + 2 * psd, "lower": m - 2 * psd}
    lo, hi = min(rets), max(rets)
    width = (hi - lo) / 10
    counts = [0] * 10
    for r in rets:
        counts[min(int((r - lo) / width), 9)] += 1
    out["histogram10"] = counts
    out["log_return_sum"] = sum(math.log(closes[i] / closes[i - 1]) for i in range(1, n))
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main(sys.argv[1])
