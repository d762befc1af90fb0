package dev.metagen.eval.report;

import dev.metagen.core.MetagenException;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.renderer.xy.XYStepRenderer;
import org.jfree.chart.title.LegendTitle;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.svg.SVGGraphics2D;

import java.awt.Color;
import java.awt.Rectangle;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The sweep's plots with JFreeChart, each written as PNG and SVG (JFreeSVG): accuracy against mean generated tokens
 * per problem, one line per strategy over its budgets, on a log-2 x axis; and the cost-accuracy frontier (every
 * strategy x budget point, with the Pareto-optimal ones joined).
 */
public final class Plots {
    public static final String ACCURACY = "accuracy_vs_tokens";
    public static final String FRONTIER = "frontier";
    static final int WIDTH = 800;
    static final int HEIGHT = 500;

    private Plots() {
    }

    /** Writes both plots as NAME.png and NAME.svg into {@code dir}. */
    public static void write(Summary summary, Path dir) {
        System.setProperty("java.awt.headless", "true");
        write(accuracyChart(summary), dir, ACCURACY);
        write(frontierChart(summary), dir, FRONTIER);
    }

    private static double x(Point p) {
        return Math.max(1, p.meanGeneratedTokens()); // a log axis has no 0: points under one token sit at 1
    }

    static JFreeChart accuracyChart(Summary s) {
        Map<String, XYSeries> series = new LinkedHashMap<>();
        for (Point p : s.points()) {
            series.computeIfAbsent(p.strategy(), k -> new XYSeries(k, false, true)).add(x(p), p.accuracy());
        }
        XYSeriesCollection data = new XYSeriesCollection();
        series.values().forEach(data::addSeries);
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
        return chart("Accuracy vs generated tokens", data, renderer);
    }

    static JFreeChart frontierChart(Summary s) {
        XYSeriesCollection data = new XYSeriesCollection();
        XYSeries frontier = new XYSeries("frontier", true, true);
        List<Point> f = s.frontier();
        for (Point p : f) {
            frontier.add(x(p), p.accuracy());
        }
        data.addSeries(frontier);
        Map<String, XYSeries> series = new LinkedHashMap<>();
        for (Point p : s.points()) {
            series.computeIfAbsent(p.strategy(), k -> new XYSeries(k, false, true)).add(x(p), p.accuracy());
        }
        series.values().forEach(data::addSeries);
        XYStepRenderer frontierLine = new XYStepRenderer();
        JFreeChart chart = chart("Cost-accuracy frontier", data, new XYLineAndShapeRenderer(false, true));
        XYPlot plot = chart.getXYPlot();
        // the frontier as a step line; the points as shapes only
        XYLineAndShapeRenderer shapes = (XYLineAndShapeRenderer) plot.getRenderer();
        shapes.setSeriesShapesVisible(0, false);
        shapes.setSeriesVisible(0, false);
        XYSeriesCollection only = new XYSeriesCollection(frontier);
        plot.setDataset(1, only);
        frontierLine.setSeriesPaint(0, Color.BLACK);
        plot.setRenderer(1, frontierLine);
        return chart;
    }

    private static JFreeChart chart(String title, XYSeriesCollection data, XYLineAndShapeRenderer renderer) {
        LogAxis xAxis = new LogAxis("mean generated tokens per problem (log2)");
        xAxis.setBase(2);
        xAxis.setTickUnit(new NumberTickUnit(1.0));
        xAxis.setNumberFormatOverride(new DecimalFormat("0.#"));
        xAxis.setSmallestValue(0.5);
        NumberAxis yAxis = new NumberAxis("accuracy");
        yAxis.setRange(0, 1.05);
        XYPlot plot = new XYPlot(data, xAxis, yAxis, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        LegendTitle legend = chart.getLegend();
        legend.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    private static void write(JFreeChart chart, Path dir, String name) {
        try {
            ChartUtils.saveChartAsPNG(dir.resolve(name + ".png").toFile(), chart, WIDTH, HEIGHT);
            SVGGraphics2D g2 = new SVGGraphics2D(WIDTH, HEIGHT);
            chart.draw(g2, new Rectangle(0, 0, WIDTH, HEIGHT));
            Files.writeString(dir.resolve(name + ".svg"), g2.getSVGDocument(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new MetagenException("cannot write plot " + dir.resolve(name) + ": " + MetagenException.describe(e));
        }
    }
}
