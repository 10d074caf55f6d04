import json, os, subprocess, sys
HERE = os.path.dirname(os.path.abspath(__file__))
G = os.path.join(HERE, "..", "GOOG.csv")
def name_to_cfg(name):
    toks = name.split("-")
    cfg = {"csv": G, "cash": 10000, "finalize_trades": True}
    params = {}
    comm_rate = None; comm_fixed = None
    k = 0
    while k < len(toks):
        t = toks[k]
        if len(t) == 1 and t.isupper(): pass
        elif t in ("smacross", "readme"):
            params = {"fast": int(toks[k+1]), "slow": int(toks[k+2]), "noclose": int(t == "readme")}; k += 2
        elif t.startswith("comm"): comm_rate = float("0." + t[4:])
        elif t.startswith("fixed"): comm_fixed = float(t[5:])
        elif t.startswith("spread"): cfg["spread"] = float("0." + t[6:])
        elif t.startswith("margin"): cfg["margin"] = float("0." + t[6:])
        elif t.startswith("cash"): cfg["cash"] = float(t[4:])
        elif t == "exclusive": cfg["exclusive_orders"] = True
        elif t == "hedging": cfg["hedging"] = True
        elif t == "tradeonclose": cfg["trade_on_close"] = True
        elif t == "open": cfg["finalize_trades"] = False
        elif t == "not" and toks[k+1] == "finalized": cfg["finalize_trades"] = False; k += 1
        elif t == "finalized": pass
        else: raise SystemExit("bad token " + t)
        k += 1
    if comm_fixed is not None: cfg["commission"] = [comm_fixed, comm_rate or 0.0]
    elif comm_rate is not None: cfg["commission"] = comm_rate
    cfg["params"] = params
    return cfg
for name in sys.argv[1:]:
    cfg = name_to_cfg(name)
    out = subprocess.run([sys.executable, os.path.join(HERE, "run.py"), json.dumps(cfg)], capture_output=True, text=True)
    if out.returncode:
        print(name, "FAILED", out.stderr[-500:]); continue
    open(os.path.join(HERE, "..", "backtesting-py", f"backtesting-py-0.6.6-{name}.json"), "w").write(out.stdout)
    print(name, "ok")
