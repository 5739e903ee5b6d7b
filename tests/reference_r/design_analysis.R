# Reference values for the design-based paths of the analysis functions (issue 5):
# multi_response, likert, crosstab cell proportions, t-test and logit on dclus1.
# Run from the repository root:  Rscript tests/reference_r/design_analysis.R
# Writes tests/data/reference/design_analysis.json; the test suite never calls R.
suppressPackageStartupMessages({library(survey); library(jsonlite)})
data(api)
res <- list()
add <- function(call, values) res[[length(res) + 1]] <<- list(id = call, r_call = call, values = values)
ev <- function(txt) eval(parse(text = txt), envir = globalenv())

d <- apiclus1
# a multiple-choice question built from four yes/no columns; "not shown" to high schools
d$mr_sch_wide <- d$sch.wide == "Yes"; d$mr_comp_imp <- d$comp.imp == "Yes"
d$mr_both <- d$both == "Yes"; d$mr_awards <- d$awards == "Yes"
d$shown <- d$stype != "H"
# Likert-type items valued 1..5
brk <- c(-Inf, 500, 600, 700, 800, Inf)
d$i1 <- as.numeric(cut(d$api00, brk)); d$i2 <- as.numeric(cut(d$api99, brk))
d$i3 <- as.numeric(cut(d$meals, c(-Inf, 20, 40, 60, 80, Inf)))
apiclus1x <<- d
dclus1 <<- svydesign(id = ~dnum, weights = ~pw, data = apiclus1x, fpc = ~fpc)
dclus1_shown <<- subset(dclus1, shown)

ciprop <- function(f, design) {
  call <- sprintf("svyciprop(%s, %s, method = 'logit')", f, design)
  x <- ev(call)
  add(call, list(estimate = as.numeric(coef(x)), se = as.numeric(SE(x)),
                 ci = unname(as.numeric(attr(x, "ci"))), df = degf(ev(design))))
}
for (o in c("mr_sch_wide", "mr_comp_imp", "mr_both", "mr_awards")) {
  # base = all rows (returned questionnaires)
  ciprop(sprintf("~I(%s)", o), "dclus1")
  # base = respondents shown the question: a domain (subset keeps the full design)
  ciprop(sprintf("~I(%s)", o), "dclus1_shown")
}
# weighted base totals
add("svytotal(~as.numeric(shown), dclus1)", list(estimate = unname(coef(svytotal(~as.numeric(shown), dclus1)))))

# Likert items: design-based mean (svymean), SD (sqrt(svyvar)), weighted distribution, median
for (i in c("i1", "i2", "i3")) {
  m <- ev(sprintf("svymean(~%s, dclus1)", i))
  add(sprintf("svymean(~%s, dclus1)", i), list(estimate = as.numeric(coef(m)), se = as.numeric(SE(m))))
  v <- ev(sprintf("svyvar(~%s, dclus1)", i))
  add(sprintf("svyvar(~%s, dclus1)", i), list(estimate = as.numeric(coef(v))))
  f <- ev(sprintf("svymean(~factor(%s, levels = 1:5), dclus1)", i))
  add(sprintf("svymean(~factor(%s, levels = 1:5), dclus1)", i), list(estimate = as.numeric(coef(f)), se = as.numeric(SE(f))))
  q <- ev(sprintf("svyquantile(~%s, dclus1, 0.5)", i))
  add(sprintf("svyquantile(~%s, dclus1, 0.5)", i), list(estimate = as.numeric(coef(q))))
}

# crosstab cell proportions: column percents = svyby(~row, ~by, svymean), row and total too
cp <- svyby(~stype, ~sch.wide, dclus1, svymean)
add("svyby(~stype, ~sch.wide, dclus1, svymean)", list(
  by = as.character(cp$sch.wide), estimate = unname(as.matrix(coef(cp))), se = unname(as.matrix(SE(cp)))))
rp <- svyby(~sch.wide, ~stype, dclus1, svymean)
add("svyby(~sch.wide, ~stype, dclus1, svymean)", list(
  by = as.character(rp$stype), estimate = unname(as.matrix(coef(rp))), se = unname(as.matrix(SE(rp)))))
tp <- svymean(~interaction(stype, sch.wide), dclus1)
add("svymean(~interaction(stype, sch.wide), dclus1)", list(
  names = names(coef(tp)), estimate = unname(coef(tp)), se = unname(SE(tp))))
for (lv in c("E", "H", "M")) for (g in c("No", "Yes")) {
  ciprop(sprintf("~I(stype == '%s')", lv), sprintf("subset(dclus1, sch.wide == '%s')", g))
}
# t-test and logistic regression on the cluster design
tt <- svyttest(api00 ~ sch.wide, dclus1)
add("svyttest(api00 ~ sch.wide, dclus1)", list(statistic = unname(tt$statistic), df = unname(tt$parameter),
    p_value = tt$p.value, estimate = unname(tt$estimate), ci = unname(as.numeric(tt$conf.int))))
g <- svyglm(sch.wide ~ ell + meals, design = dclus1, family = quasibinomial())
add("svyglm(sch.wide ~ ell + meals, design = dclus1, family = quasibinomial())", list(
  names = names(coef(g)), estimate = unname(coef(g)), se = unname(SE(g)), df_residual = g$df.residual,
  ci = unname(confint(g))))

out <- list(meta = list(R = R.version.string, survey = as.character(packageVersion("survey")),
            note = "apiclus1 with constructed columns, see the script"), results = res)
write(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "tests/data/reference/design_analysis.json")
