# Reference values for the design-based banner letters (tests/analysis/test_banner_design.py).
# Run: Rscript tests/reference_r/banner_design.R > tests/data/reference/banner_design.json
suppressMessages(library(survey))
apiclus1 <- read.csv("tests/data/apiclus1.csv", stringsAsFactors = FALSE)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
num <- function(x) sprintf("%.15g", x)
vec <- function(x) paste0("[", paste(num(x), collapse = ", "), "]")
one <- function(row, by) {
  lev <- sort(unique(apiclus1[[row]])); cols <- sort(unique(apiclus1[[by]]))
  out <- c()
  for (k in lev) {
    f <- as.formula(paste0("~I(as.numeric(", row, " == '", k, "'))"))
    # R: svyby(~I(row == k), ~by, dclus1, svymean, covmat = TRUE)
    sb <- svyby(f, as.formula(paste0("~", by)), dclus1, svymean, covmat = TRUE)
    p <- coef(sb); se <- SE(sb)
    pr <- c()
    for (i in 1:(length(cols) - 1)) for (j in (i + 1):length(cols)) {
      w <- rep(0, length(cols)); w[i] <- 1; w[j] <- -1
      # R: svycontrast(sb, w)  (difference of column i and column j)
      sc <- svycontrast(sb, w)
      d <- as.numeric(coef(sc)); s <- as.numeric(SE(sc))
      pr <- c(pr, sprintf('{"ci": "%s", "cj": "%s", "diff": %s, "se": %s, "stat": %s}',
                          cols[i], cols[j], num(d), num(s), num(d / s)))
    }
    out <- c(out, sprintf('"%s": {"p": %s, "se": %s, "pairs": [%s]}', k, vec(p), vec(se),
                          paste(pr, collapse = ", ")))
  }
  sprintf('"%s_by_%s": {"columns": [%s], "degf": %d, "rows": {%s}}', row, by,
          paste0('"', cols, '"', collapse = ", "), degf(dclus1), paste(out, collapse = ", "))
}
# means: R: svyby(~api00, ~stype, dclus1, svymean, covmat = TRUE) + svycontrast
mb <- svyby(~api00, ~stype, dclus1, svymean, covmat = TRUE)
mc <- sort(unique(apiclus1$stype)); mp <- c()
for (i in 1:2) for (j in (i + 1):3) {
  w <- rep(0, 3); w[i] <- 1; w[j] <- -1
  sc <- svycontrast(mb, w)
  mp <- c(mp, sprintf('{"ci": "%s", "cj": "%s", "diff": %s, "se": %s}', mc[i], mc[j],
                      num(as.numeric(coef(sc))), num(as.numeric(SE(sc)))))
}
means <- sprintf('"api00_by_stype": {"mean": %s, "se": %s, "pairs": [%s]}', vec(coef(mb)),
                 vec(SE(mb)), paste(mp, collapse = ", "))
cat("{", one("stype", "awards"), ",", one("sch.wide", "stype"), ",", means, "}\n")
