package portfolio_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/finkit/finkit/portfolio"
	"github.com/shopspring/decimal"
)

func Example() {
	ledger, _ := portfolio.NewLedger(portfolio.Account{ID: "nordnet", Name: "Nordnet", Currency: "NOK"})
	day := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	err := ledger.Apply(
		portfolio.Transaction{ID: "1", Account: "nordnet", Kind: portfolio.TxDeposit, Time: day("2024-01-02"), Amount: decimal.NewFromInt(50000)},
		portfolio.Transaction{ID: "2", Account: "nordnet", Kind: portfolio.TxBuy, Time: day("2024-01-03"), Symbol: "EQNR.OL",
			Quantity: decimal.NewFromInt(120), Price: decimal.RequireFromString("299.80")},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	prices := portfolio.Prices{"EQNR.OL": {Price: decimal.RequireFromString("312.40"), Currency: "NOK"}}
	v, _ := ledger.Value(context.Background(), "NOK", prices, nil)
	for _, h := range v.Holdings {
		fmt.Println(h.Summary())
	}
	fmt.Println(v.Summary())
	// Output:
	// EQNR.OL 120 sh @ 312.40 NOK = 37,488.00 NOK (+4.2%)
	// total 51,512.00 NOK (securities 37,488.00 NOK, cash 14,024.00 NOK), gain 1,512.00 NOK (+3.0%)
}

func ExampleLedger_Apply_atomic() {
	ledger, _ := portfolio.NewLedger(portfolio.Account{ID: "a", Currency: "USD"})
	t := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	err := ledger.Apply(
		portfolio.Transaction{ID: "d", Account: "a", Kind: portfolio.TxDeposit, Time: t, Amount: decimal.NewFromInt(100)},
		portfolio.Transaction{ID: "w", Account: "a", Kind: portfolio.TxWithdrawal, Time: t, Amount: decimal.NewFromInt(150)},
	)
	fmt.Println(err)
	cash, _ := ledger.Cash("a")
	fmt.Println("cash:", cash, "transactions:", ledger.Len())
	// Output:
	// portfolio: transaction 2 of 2 (id "w", withdrawal a): portfolio: insufficient funds: cash 100.00 USD, needs 150.00 USD
	// cash: 0 transactions: 0
}

func ExampleXIRR() {
	day := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	r, _ := portfolio.XIRR([]portfolio.CashFlow{
		{Time: day("2008-01-01"), Amount: -10000},
		{Time: day("2008-03-01"), Amount: 2750},
		{Time: day("2008-10-30"), Amount: 4250},
		{Time: day("2009-02-15"), Amount: 3250},
		{Time: day("2009-04-01"), Amount: 2750},
	})
	fmt.Printf("%.9f\n", r)
	// Output: 0.373362534
}

func ExampleTWR() {
	r, _ := portfolio.TWR([]portfolio.ValuePoint{
		{Value: 1000},
		{Value: 1100},             // +10%
		{Value: 1980, Flow: 1100}, // 1100 deposited at the start of the day, then −10%
	}, portfolio.FlowsSplit)
	fmt.Printf("%.4f\n", r)
	// Output: -0.0100
}

func ExampleReadCSV() {
	const file = `date,account,kind,symbol,quantity,price,amount
2024-01-02,a,deposit,,,,1000
2024-01-03,a,buy,AAPL,2,185.64,
2024-01-04,a,sell,AAPL,abc,190,
`
	_, err := portfolio.ReadCSV(strings.NewReader(file))
	fmt.Println(err)

	txs, _ := portfolio.ReadCSV(strings.NewReader(strings.Replace(file, "abc", "1", 1)))
	ledger, _ := portfolio.NewLedger(portfolio.Account{ID: "a", Currency: "USD"})
	added, _ := ledger.Import(txs)
	again, _ := ledger.Import(txs)
	fmt.Println(len(added), "imported,", len(again), "on the second import")
	var out bytes.Buffer
	_ = portfolio.WriteCSV(&out, ledger.Transactions()[:1])
	fmt.Print(out.String())
	// Output:
	// line 4, column quantity: "abc" is not a number
	// 3 imported, 0 on the second import
	// id,date,account,kind,symbol,quantity,price,amount,fee,tax,currency,fx_rate,note
	// csv-51648487922d9921,2024-01-02,a,deposit,,,,1000,,,USD,,
}

func ExampleRoundMoney() {
	fmt.Println(portfolio.RoundMoney(decimal.RequireFromString("0.125"), "EUR"))
	fmt.Println(portfolio.RoundMoney(decimal.RequireFromString("0.135"), "EUR"))
	fmt.Println(portfolio.RoundMoney(decimal.RequireFromString("2.5"), "JPY"))
	fmt.Println(portfolio.FormatMoney(decimal.RequireFromString("1234.5675"), "KWD"))
	// Output:
	// 0.12
	// 0.14
	// 2
	// 1,234.568 KWD
}

// Performance marked to the ledger's own trades: a day that ends with
// everything sold and withdrawn still counts (+10%), then new money
// earns +5%. Under a year, XIRR is the period's return.
func ExampleLedger_Performance() {
	ledger, _ := portfolio.NewLedger(portfolio.Account{ID: "a", Currency: "USD"})
	day := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	n := decimal.NewFromInt
	_ = ledger.Apply(
		portfolio.Transaction{ID: "d1", Account: "a", Kind: portfolio.TxDeposit, Time: day("2024-01-01"), Amount: n(1000)},
		portfolio.Transaction{ID: "b1", Account: "a", Kind: portfolio.TxBuy, Time: day("2024-01-01"), Symbol: "X", Quantity: n(10), Price: n(100)},
		portfolio.Transaction{ID: "s1", Account: "a", Kind: portfolio.TxSell, Time: day("2024-01-02"), Symbol: "X", Quantity: n(10), Price: n(110)},
		portfolio.Transaction{ID: "w", Account: "a", Kind: portfolio.TxWithdrawal, Time: day("2024-01-02"), Amount: n(1100)},
		portfolio.Transaction{ID: "d2", Account: "a", Kind: portfolio.TxDeposit, Time: day("2024-01-05"), Amount: n(500)},
		portfolio.Transaction{ID: "b2", Account: "a", Kind: portfolio.TxBuy, Time: day("2024-01-05"), Symbol: "X", Quantity: n(5), Price: n(100)},
		portfolio.Transaction{ID: "s2", Account: "a", Kind: portfolio.TxSell, Time: day("2024-01-06"), Symbol: "X", Quantity: n(5), Price: n(105)},
	)
	p, err := ledger.Performance(context.Background(), portfolio.PerformanceOptions{Base: "USD", History: ledger.TradeHistory()})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Summary())
	fmt.Printf("net flows %.2f, end value %.2f, XIRR over the period: %v\n", p.NetFlows, p.EndValue, p.XIRRPeriodic)
	// Output:
	// 2024-01-01..2024-01-06 TWR +15.5%, XIRR +27.8%
	// net flows 400.00, end value 525.00, XIRR over the period: true
}

func ExampleSeries() {
	ledger, _ := portfolio.NewLedger(portfolio.Account{ID: "a", Currency: "USD"})
	day := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	n := decimal.NewFromInt
	_ = ledger.Apply(
		portfolio.Transaction{ID: "d1", Account: "a", Kind: portfolio.TxDeposit, Time: day("2024-01-01"), Amount: n(1000)},
		portfolio.Transaction{ID: "b1", Account: "a", Kind: portfolio.TxBuy, Time: day("2024-01-01"), Symbol: "X", Quantity: n(10), Price: n(100)},
		portfolio.Transaction{ID: "s1", Account: "a", Kind: portfolio.TxSell, Time: day("2024-01-10"), Symbol: "X", Quantity: n(5), Price: n(120)},
	)
	// An app keeps one Series per owner and reads it on every request;
	// only the first read after a change computes anything.
	series, err := portfolio.NewSeries(ledger, portfolio.SeriesOptions{Base: "USD", History: ledger.TradeHistory()})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	month := portfolio.Period{To: day("2024-01-31")}
	p, _ := series.Performance(ctx, month)
	fmt.Printf("%s: %d days, end value %.2f\n", p.Summary(), len(p.Points)-1, p.EndValue)

	// A write to the ledger is seen by the next read, which recomputes
	// the days from the transaction's date on (here the last 12).
	_ = ledger.Apply(portfolio.Transaction{ID: "d2", Account: "a", Kind: portfolio.TxDeposit, Time: day("2024-01-20"), Amount: n(500)})
	p, _ = series.Performance(ctx, month)
	fmt.Printf("%s: net flows %.2f, end value %.2f\n", p.Summary(), p.NetFlows, p.EndValue)

	// New prices or rates in the history from a day on: Invalidate(day).
	series.Invalidate(day("2024-01-31"))
	// Output:
	// 2024-01-01..2024-01-31 TWR +20.0%, XIRR +20.0%: 31 days, end value 1200.00
	// 2024-01-01..2024-01-31 TWR +20.0%, XIRR +16.9%: net flows 1500.00, end value 1700.00
}
