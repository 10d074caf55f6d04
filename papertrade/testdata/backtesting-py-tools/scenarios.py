import os, sys, json, math, random, warnings
warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("BTPY", "."))  # a checkout of the backtesting.py tag
sys.path.insert(0, HERE)
import pandas as pd
from backtesting import Backtest, Strategy
from run import out
df_all = pd.read_csv(os.path.join(HERE, "..", "GOOG.csv"), index_col=0, parse_dates=True)

class Scripted(Strategy):
    actions = None
    def init(self): pass
    def next(self):
        i = len(self.data) - 1
        for a in self.actions.get(str(i), []):
            op = a["op"]
            if op == "close": self.position.close(); continue
            kw = {}
            for k in ("limit", "stop", "sl", "tp"):
                if a.get(k): kw[k] = a[k]
            size = a["size"]
            try:
                (self.buy if op == "buy" else self.sell)(size=size, **kw)
            except ValueError:
                pass

def make(seed):
    rng = random.Random(seed)
    start = rng.randrange(0, len(df_all) - 200)
    n = rng.randrange(40, 160)
    df = df_all.iloc[start:start + n]
    opts = dict(cash=rng.choice([10000, 100000]), finalize_trades=rng.random() < 0.7,
                hedging=rng.random() < 0.3, exclusive_orders=rng.random() < 0.2, trade_on_close=rng.random() < 0.3)
    if rng.random() < 0.3: opts["margin"] = rng.choice([0.5, 0.2, 0.05])
    c = rng.random()
    if c < 0.25: opts["commission"] = rng.choice([0.001, 0.002])
    elif c < 0.4: opts["commission"] = (rng.choice([1, 5]), rng.choice([0.0, 0.001]))
    if rng.random() < 0.25: opts["spread"] = rng.choice([0.0005, 0.001])
    actions = {}
    closes = list(df.Close)
    for i in range(n):
        if rng.random() > 0.25: continue
        px = closes[i]
        acts = []
        for _ in range(rng.choice([1, 1, 2])):
            r = rng.random()
            if r < 0.12: acts.append({"op": "close"}); continue
            op = rng.choice(["buy", "sell"])
            size = rng.choice([rng.randrange(1, 20), rng.choice([0.1, 0.25, 0.5, 0.9999])])
            a = {"op": op, "size": size}
            long = op == "buy"
            kind = rng.random()
            if kind < 0.2: a["limit"] = round(px * (0.98 if long else 1.02), 2)
            elif kind < 0.35: a["stop"] = round(px * (1.02 if long else 0.98), 2)
            elif kind < 0.45:
                a["stop"] = round(px * (1.02 if long else 0.98), 2); a["limit"] = round(px * (1.03 if long else 0.97), 2)
            if rng.random() < 0.4:
                a["sl"] = round(px * (rng.uniform(0.85, 0.95) if long else rng.uniform(1.05, 1.15)), 2)
            if rng.random() < 0.4:
                a["tp"] = round(px * (rng.uniform(1.05, 1.15) if long else rng.uniform(0.85, 0.95)), 2)
            acts.append(a)
        actions[str(i)] = acts
    return start, n, opts, actions

# usage: scenarios.py FIRST_SEED END_SEED OUT.json
res = []
for seed in range(int(sys.argv[1]), int(sys.argv[2])):
    start, n, opts, actions = make(seed)
    df = df_all.iloc[start:start + n]
    bt = Backtest(df, Scripted, **opts)
    st = bt.run(actions=actions)
    o = {k: v for k, v in opts.items()}
    if isinstance(o.get("commission"), tuple): o["commission"] = list(o["commission"])
    res.append({"seed": seed, "start": start, "bars": n, "options": o, "actions": actions, "result": out(st)})
json.dump(res, open(sys.argv[3], "w"))
print(len(res))
