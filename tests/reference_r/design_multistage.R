# Reference values for multi-stage designs, lonely PSUs, nested strata and calibration on
# cluster designs, from R's survey package. Run from the repository root:
#   Rscript tests/reference_r/design_multistage.R
# Writes tests/data/reference/apiclus2.csv and tests/data/reference/design_multistage.json.
# The test suite reads only those files; it never calls R.
suppressPackageStartupMessages({library(survey); library(jsonlite)})
data(api)
out_dir <- "tests/data/reference"
write.csv(apiclus2, file.path(out_dir, "apiclus2.csv"), row.names = FALSE, na = "")

res <- list()
add <- function(id, call, values) {
  res[[length(res) + 1]] <<- list(id = id, r_call = call, values = values)
}
ev <- function(txt) eval(parse(text = txt), envir = globalenv())
mat <- function(m) list(rownames = rownames(m), colnames = colnames(m), values = unname(as.matrix(m)))
stat <- function(call) {
  x <- ev(call)
  v <- list(estimate = as.list(coef(x)), se = as.list(SE(x)), vcov = mat(vcov(x)))
  d <- attr(x, "deff")
  if (!is.null(d)) v$deff <- as.list(diag(as.matrix(d)))
  add(call, call, v)
}

dclus2 <<- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
dclus2w <<- svydesign(id = ~dnum + snum, weights = ~pw, fpc = ~fpc1 + fpc2, data = apiclus2)
dclus2_nofpc <<- svydesign(id = ~dnum + snum, weights = ~pw, data = apiclus2)
apiclus2f <- apiclus2
apiclus2f$f1 <- 40 / apiclus2f$fpc1
apiclus2f$n2 <- ave(rep(1, nrow(apiclus2f)), apiclus2f$dnum, FUN = sum)
apiclus2f$f2 <- apiclus2f$n2 / apiclus2f$fpc2
apiclus2f <<- apiclus2f
dclus2_frac <<- svydesign(id = ~dnum + snum, fpc = ~f1 + f2, data = apiclus2f)
dclus1 <<- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dstrat_nest <<- svydesign(id = ~dnum, strata = ~stype, weights = ~pw, data = apistrat, nest = TRUE)

designs <- list()
for (nm in c("dclus2", "dclus2w", "dclus2_nofpc", "dclus2_frac", "dclus1", "dstrat_nest")) {
  d <- get(nm)
  designs[[nm]] <- list(degf = degf(d), sum_weights = sum(weights(d)), call = deparse(d$call))
}

for (dn in c("dclus2", "dclus2w", "dclus2_nofpc", "dclus2_frac", "dstrat_nest")) {
  stat(sprintf("svymean(~api00, %s, deff = TRUE)", dn))
  stat(sprintf("svytotal(~api00, %s, deff = TRUE)", dn))
  stat(sprintf("svymean(~enroll, %s, na.rm = TRUE, deff = TRUE)", dn))
  stat(sprintf("svytotal(~enroll, %s, na.rm = TRUE, deff = TRUE)", dn))
  stat(sprintf("svymean(~stype, %s, deff = TRUE)", dn))
  stat(sprintf("svyratio(~api.stu, ~enroll, %s, na.rm = TRUE)", dn))
  # domains
  call <- sprintf("svyby(~api00, ~stype, %s, svymean, deff = TRUE, covmat = TRUE)", dn)
  x <- ev(call)
  add(call, call, list(by = as.character(x$stype), estimate = unname(coef(x)), se = unname(SE(x)),
                       deff = unname(deff(x)), vcov = mat(vcov(x))))
  call <- sprintf("svyby(~enroll, ~stype, %s, svytotal, na.rm = TRUE, deff = TRUE)", dn)
  x <- ev(call)
  add(call, call, list(by = as.character(x$stype), estimate = unname(coef(x)), se = unname(SE(x)),
                       deff = unname(deff(x))))
  # proportion, logit CI
  call <- sprintf('svyciprop(~I(sch.wide == "Yes"), %s, method = "logit")', dn)
  x <- ev(call)
  add(call, call, list(estimate = as.numeric(x), se = as.numeric(SE(x)), ci = as.numeric(attr(x, "ci"))))
  # quantiles (defaults: qrule math, interval mean)
  call <- sprintf("svyquantile(~api00, %s, quantiles = c(0.25, 0.5, 0.75), ci = TRUE, se = TRUE)", dn)
  x <- ev(call)[[1]]
  add(call, call, list(estimate = unname(x[, 1]), ci_lower = unname(x[, 2]), ci_upper = unname(x[, 3]),
                       se = unname(x[, 4])))
  # chi-square
  for (st in c("F", "Chisq", "Wald", "adjWald")) {
    call <- sprintf('svychisq(~sch.wide + stype, %s, statistic = "%s")', dn, st)
    x <- ev(call)
    add(call, call, list(statistic = unname(x$statistic), parameter = as.list(x$parameter),
                         p_value = unname(x$p.value)))
  }
  call <- sprintf("svyttest(api00 ~ sch.wide, %s)", dn)
  x <- ev(call)
  add(call, call, list(statistic = unname(x$statistic), df = unname(x$parameter),
                       p_value = unname(x$p.value), estimate = unname(x$estimate),
                       conf_int = unname(as.vector(x$conf.int))))
  call <- sprintf("svyglm(sch.wide ~ ell + meals, design = %s, family = quasibinomial(), control = glm.control(epsilon = 1e-14, maxit = 100))", dn)
  x <- ev(call)
  add(call, call, list(coefficients = unname(coef(x)), se = unname(SE(x)), vcov = mat(vcov(x)),
                       df_residual = x$df.residual))
}

# calibration on cluster designs
pop.types <<- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop.schwide <<- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
cal_calls <- c(
  "rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide), control = list(maxit = 1000, epsilon = 1e-13))",
  "rake(dclus2, list(~stype, ~sch.wide), list(pop.types, pop.schwide), control = list(maxit = 1000, epsilon = 1e-13))",
  "postStratify(dclus1, ~stype, pop.types)",
  "postStratify(dclus2, ~stype, pop.types)",
  "calibrate(dclus1, ~stype + api99, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069))",
  "calibrate(dclus2, ~stype + sch.wide, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, sch.wideYes = 5122), calfun = 'raking', epsilon = 1e-12, maxit = 100)",
  "calibrate(dclus1, ~stype, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018), calfun = 'logit', bounds = c(0.5, 2), epsilon = 1e-12, maxit = 100)",
  "calibrate(dclus1, ~stype + api99, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069), bounds = c(0.7, 1.7), epsilon = 1e-12, maxit = 200)"
)
for (cc in cal_calls) {
  d <- ev(cc)
  m <- svymean(~api00, d)
  t <- svytotal(~enroll, d, na.rm = TRUE)
  p <- svymean(~sch.wide, d)
  q <- svychisq(~comp.imp + stype, d)
  add(cc, cc, list(weights = unname(weights(d)),
                   svymean_api00 = list(estimate = unname(coef(m)), se = unname(SE(m))),
                   svytotal_enroll = list(estimate = unname(coef(t)), se = unname(SE(t))),
                   svymean_schwide = list(estimate = unname(coef(p)), se = unname(SE(p))),
                   svychisq_F = list(statistic = unname(q$statistic), parameter = as.list(q$parameter),
                                     p_value = unname(q$p.value))))
}

# lonely PSUs: apistrat with a single school of type H
lonely <- apistrat[apistrat$stype != "H" | apistrat$snum == apistrat$snum[apistrat$stype == "H"][1], ]
lonely <<- lonely
write.csv(lonely, file.path(out_dir, "apistrat_lonely.csv"), row.names = FALSE, na = "")
for (opt in c("adjust", "average", "remove", "certainty")) {
  options(survey.lonely.psu = opt)
  d <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = lonely)
  m <- svymean(~api00, d)
  t <- svytotal(~enroll, d)
  call <- sprintf("options(survey.lonely.psu = '%s'); d <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = lonely); svymean(~api00, d); svytotal(~enroll, d)", opt)
  add(paste0("lonely/", opt), call, list(mean = unname(coef(m)), mean_se = unname(SE(m)),
                                         total = unname(coef(t)), total_se = unname(SE(t)),
                                         degf = degf(d)))
}
options(survey.lonely.psu = "fail")

out <- list(meta = list(generated_by = "tests/reference_r/design_multistage.R",
                        R_version = R.version.string,
                        survey_version = as.character(packageVersion("survey"))),
            designs = designs, results = res)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = FALSE),
           file.path(out_dir, "design_multistage.json"))
cat("wrote", length(res), "results\n")
