import os, sys, json, math, warnings
warnings.filterwarnings("ignore")
sys.path.insert(0, os.environ.get("BTPY", "."))  # a checkout of the backtesting.py tag
import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from backtesting.test import SMA

def load(path):
    df = pd.read_csv(path, index_col=0, parse_dates=True)
    return df

class SmaCross(Strategy):
    fast = 10; slow = 30; noclose = 0
    def init(self):
        self.a = self.I(SMA, self.data.Close, self.fast)
        self.b = self.I(SMA, self.data.Close, self.slow)
    def next(self):
        if crossover(self.a, self.b):
            if not self.noclose: self.position.close()
            self.buy()
        elif crossover(self.b, self.a):
            if not self.noclose: self.position.close()
            self.sell()

def out(stats):
    d = {}
    for k, v in stats.items():
        if k.startswith('_'): continue
        if isinstance(v, float) and (math.isnan(v) or math.isinf(v)): d[k] = None
        elif isinstance(v, (pd.Timestamp, pd.Timedelta)): d[k] = str(v)
        else:
            try: d[k] = float(v)
            except Exception: d[k] = str(v)
    t = stats['_trades']
    d['_trades'] = [dict(size=float(r.Size), entry_bar=int(r.EntryBar), exit_bar=int(r.ExitBar), entry_price=float(r.EntryPrice),
                         exit_price=float(r.ExitPrice), pnl=float(r.PnL), commission=float(r.Commission) if 'Commission' in t else 0.0) for r in t.itertuples()]
    d['_equity'] = [float(x) for x in stats['_equity_curve']['Equity']]
    return d


class Units(Strategy):
    fast = 10; slow = 20; units = 2
    def init(self):
        self.a = self.I(SMA, self.data.Close, self.fast)
        self.b = self.I(SMA, self.data.Close, self.slow)
    def next(self):
        if crossover(self.a, self.b):
            self.buy(size=self.units)
        elif crossover(self.b, self.a):
            self.sell(size=self.units)

if __name__ == "__main__":
    cfg = json.loads(sys.argv[1])
    df = load(cfg.pop("csv"))
    params = cfg.pop("params", {})
    if isinstance(cfg.get("commission"), list): cfg["commission"] = tuple(cfg["commission"])
    strat = Units if cfg.pop("units", False) else SmaCross
    bt = Backtest(df, strat, **cfg)
    st = bt.run(**params)
    json.dump(out(st), sys.stdout)
