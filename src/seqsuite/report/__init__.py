"""The report: the datasets page, index.html, with summary.csv beside it (seqsuite.report.index), its tables,
statistics and plots; the lab's page, longdep.html, is seqsuite.longdep.report's. The package itself imports
nothing, so that a training job, which needs only the plots, does not load the pages and their statistics."""
