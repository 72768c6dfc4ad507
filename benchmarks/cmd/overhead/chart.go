package main

import (
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// chart draws the CPU overhead per request of each traced variant, as a
// percentage of the untraced run of the same framework, grouped by
// framework.
func chart(rows []row, frameworks, variants []string, path string) error {
	p := plot.New()
	p.Title.Text = "Tracing overhead: CPU per request vs untraced"
	p.Y.Label.Text = "overhead %"
	var traced []string
	for _, v := range variants {
		if v != "untraced" {
			traced = append(traced, v)
		}
	}
	w := vg.Points(14)
	for i, v := range traced {
		vals := make(plotter.Values, len(frameworks))
		for j, f := range frameworks {
			for _, r := range rows {
				if r.framework == f && r.variant == v {
					vals[j] = r.overhead
				}
			}
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bars.LineStyle.Width = vg.Length(0)
		bars.Color = plotutil.Color(i)
		bars.Offset = w * vg.Length(float64(i)-float64(len(traced)-1)/2)
		p.Add(bars)
		p.Legend.Add(v, bars)
	}
	p.Legend.Top = true
	p.NominalX(frameworks...)
	// Room above the tallest bar for the legend.
	top := 0.0
	for _, r := range rows {
		top = max(top, r.overhead)
	}
	p.Y.Max = max(top*1.45, 1)
	return p.Save(7*vg.Inch, 4*vg.Inch, path)
}
