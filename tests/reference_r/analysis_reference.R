# Reference values for tests/analysis (issue 4) that are not in the shared classics.json.
# Run from the repository root:  Rscript tests/reference_r/analysis_reference.R
# Output: tests/analysis/reference/analysis_extra.json (the test suite reads the JSON, never R).
suppressPackageStartupMessages({library(jsonlite); library(MASS)})
apisrs <- read.csv("tests/data/apisrs.csv", stringsAsFactors = TRUE)
out <- list()
add <- function(id, r_call, values) out[[length(out) + 1]] <<- list(id = id, r_call = r_call, values = values)
mat <- function(m) list(values = unname(split(m, row(m))))

# --- r x c Fisher exact tests ------------------------------------------------------------
t33 <- matrix(c(120, 95, 110, 100, 130, 105, 90, 115, 135), 3)          # n = 1000
t33b <- matrix(c(140, 95, 80, 100, 130, 105, 70, 115, 165), 3)          # n = 1000, associated
t24 <- matrix(c(3, 0, 1, 4, 0, 2, 5, 1), 2)                             # sparse 2 x 4
t23 <- matrix(c(2, 7, 5, 1, 0, 6), 2)
t44 <- matrix(c(7, 6, 8, 5, 10, 4, 2, 5, 8, 7, 8, 8, 9, 4, 3, 6), 4)                # n = 100
t34 <- matrix(c(21, 26, 31, 24, 21, 29, 14, 30, 28, 24, 26, 26), 3)              # n = 300
t26 <- matrix(c(21, 29, 32, 37, 39, 39, 33, 37, 38, 36, 27, 32), 2)              # n = 400
t33c <- matrix(c(150, 60, 40, 50, 140, 60, 40, 50, 160), 3)                     # n = 750, p ~ 1e-48
t34s <- matrix(c(12, 2, 1, 3, 10, 2, 0, 1, 14, 2, 3, 9), 3)                       # sparse 3 x 4
for (nm in c("t33", "t33b", "t24", "t23", "t44", "t34", "t26", "t33c", "t34s")) {
  tab <- get(nm)
  f <- fisher.test(tab, workspace = 2e8)
  cs <- suppressWarnings(chisq.test(tab, correct = FALSE))
  E <- cs$expected
  g2 <- 2 * sum(ifelse(tab > 0, tab * log(tab / E), 0))
  add(paste0("fisher/", nm), sprintf("fisher.test(%s, workspace = 2e8); chisq.test(%s, correct = FALSE); G2 = 2*sum(O*log(O/E))", nm, nm),
      list(table = mat(tab), fisher_p = f$p.value, pearson = unname(cs$statistic), pearson_df = unname(cs$parameter),
           pearson_p = cs$p.value, stdres = mat(cs$stdres), g2 = g2, g2_p = pchisq(g2, cs$parameter, lower.tail = FALSE)))
}

# --- ordinal association: gamma, Kendall tau-b, linear-by-linear ---------------------------
tord <- matrix(c(20, 15, 5, 12, 18, 10, 8, 14, 16, 4, 10, 22), 3)       # rows and columns ordered
x <- rep(row(tord), tord); y <- rep(col(tord), tord)
taub <- cor(x, y, method = "kendall")
conc <- 0; disc <- 0
for (i in 1:nrow(tord)) for (j in 1:ncol(tord)) {
  conc <- conc + tord[i, j] * sum(tord[row(tord) > i & col(tord) > j])
  disc <- disc + tord[i, j] * sum(tord[row(tord) > i & col(tord) < j])
}
gamma <- (conc - disc) / (conc + disc)
n <- sum(tord); r <- cor(x, y); M2 <- (n - 1) * r^2
add("ordinal/tord", "tau_b = cor(x, y, method = 'kendall'); gamma = (C - D)/(C + D); M2 = (n - 1) * cor(x, y)^2 on row/column scores 1..k",
    list(table = mat(tord), tau_b = taub, gamma = gamma, concordant = conc, discordant = disc,
         lbl_statistic = M2, lbl_p = pchisq(M2, 1, lower.tail = FALSE)))

# --- post hoc ------------------------------------------------------------------------------
tk <- TukeyHSD(aov(api00 ~ stype, data = apisrs))$stype
add("tukey/apisrs/api00~stype", "TukeyHSD(aov(api00 ~ stype, data = apisrs))",
    list(comparisons = rownames(tk), diff = unname(tk[, "diff"]), lwr = unname(tk[, "lwr"]),
         upr = unname(tk[, "upr"]), p_adj = unname(tk[, "p adj"])))
# Games-Howell by its definition (no package here): q = |d| / sqrt((vi/ni + vj/nj)/2), Welch df, ptukey
g <- split(apisrs$api00, apisrs$stype); lv <- names(g); k <- length(g)
gh <- list()
for (a in 1:(k - 1)) for (b in (a + 1):k) {
  xa <- g[[a]]; xb <- g[[b]]; va <- var(xa) / length(xa); vb <- var(xb) / length(xb)
  d <- mean(xb) - mean(xa); se <- sqrt((va + vb) / 2)
  df <- (va + vb)^2 / (va^2 / (length(xa) - 1) + vb^2 / (length(xb) - 1))
  q <- abs(d) / se
  gh[[length(gh) + 1]] <- list(a = lv[a], b = lv[b], diff = d, df = df, q = q,
    p = ptukey(q, k, df, lower.tail = FALSE), ci_low = d - qtukey(0.95, k, df) * se, ci_high = d + qtukey(0.95, k, df) * se)
}
add("games_howell/apisrs/api00~stype", "by definition: q = |mean_b - mean_a| / sqrt((v_a/n_a + v_b/n_b)/2); ptukey(q, k, welch_df, lower.tail = FALSE)", gh)
# Dunn's test by its definition (dunn.test not installed): tie-corrected, two-sided, then p.adjust
rk <- rank(apisrs$api00); N <- length(rk); ties <- table(apisrs$api00)
s2 <- N * (N + 1) / 12 - sum(ties^3 - ties) / (12 * (N - 1))
mr <- tapply(rk, apisrs$stype, mean); ng <- table(apisrs$stype)
dn <- list(); zs <- c(); ps <- c()
for (a in 1:(k - 1)) for (b in (a + 1):k) {
  z <- (mr[a] - mr[b]) / sqrt(s2 * (1 / ng[a] + 1 / ng[b]))
  zs <- c(zs, unname(z)); ps <- c(ps, 2 * pnorm(-abs(unname(z))))
}
add("dunn/apisrs/api00~stype", "z = (Rbar_a - Rbar_b)/sqrt((N(N+1)/12 - sum(t^3-t)/(12(N-1)))(1/n_a+1/n_b)); p = 2*pnorm(-|z|); p.adjust(p, 'holm')",
    list(z = zs, p = ps, p_holm = p.adjust(ps, "holm")))

# --- frequencies: confidence intervals for one proportion -------------------------------
xk <- 12; nk <- 25; z <- qnorm(0.975)
wil <- prop.test(xk, nk, correct = FALSE)$conf.int
cp <- binom.test(xk, nk)$conf.int
pt <- (xk + z^2 / 2) / (nk + z^2); ac <- pt + c(-1, 1) * z * sqrt(pt * (1 - pt) / (nk + z^2))
ph <- xk / nk; lg <- plogis(qlogis(ph) + c(-1, 1) * z / sqrt(nk * ph * (1 - ph)))
add("proportion_ci/12of25", "prop.test(12, 25, correct = FALSE)$conf.int; binom.test(12, 25)$conf.int; Agresti-Coull and logit by formula",
    list(wilson = wil[1:2], clopper_pearson = cp[1:2], agresti_coull = ac, logit = lg))

# --- models ------------------------------------------------------------------------------
m1 <- glm(sch.wide ~ stype + api00, data = apisrs, family = binomial(), control = glm.control(epsilon = 1e-14, maxit = 100))
cf <- summary(m1)$coefficients
add("glm/apisrs/sch.wide~stype+api00", "glm(sch.wide ~ stype + api00, data = apisrs, family = binomial(), control = glm.control(epsilon = 1e-14, maxit = 100))",
    list(terms = rownames(cf), estimate = unname(cf[, 1]), se = unname(cf[, 2]), z = unname(cf[, 3]), p = unname(cf[, 4])))
apisrs$size <- cut(apisrs$enroll, c(0, 300, 600, 1000, 10000), ordered_result = TRUE)
m2 <- polr(size ~ api00 + meals, data = apisrs, Hess = TRUE, control = list(reltol = 1e-14, maxit = 1000))
cf2 <- summary(m2)$coefficients
add("polr/apisrs/size~api00+meals", "apisrs$size <- cut(enroll, c(0,300,600,1000,10000), ordered_result = TRUE); polr(size ~ api00 + meals, data = apisrs, Hess = TRUE, control = list(reltol = 1e-14))",
    list(terms = rownames(cf2), estimate = unname(cf2[, 1]), se = unname(cf2[, 2]), size_counts = as.vector(table(apisrs$size))))
# polr's finite-difference Hessian is poor with unscaled predictors (api00 ~ 600): refit on
# rescaled predictors (same model) for trustworthy SEs, then scale the slopes' SEs back
m3 <- polr(size ~ I(api00 / 100) + I(meals / 10), data = apisrs, Hess = TRUE, control = list(reltol = 1e-14, maxit = 1000))
cf3 <- summary(m3)$coefficients
add("polr/apisrs/size~api00+meals/rescaled", "polr(size ~ I(api00/100) + I(meals/10), data = apisrs, Hess = TRUE); SE of slopes divided by 100 and 10",
    list(estimate = unname(cf3[, 1]) / c(100, 10, 1, 1, 1), se = unname(cf3[, 2]) / c(100, 10, 1, 1, 1)))

# --- omega total from a one-factor ML fit (factanal) ---------------------------------------
pq <- read.csv("tests/data/pingouin_cronbach_alpha_wide.csv")[, paste0("Q", 1:10)]
R <- cor(pq); fa <- factanal(covmat = R, factors = 1, n.obs = nrow(pq))
add("omega/pingouin_cronbach_alpha_wide", "fa <- factanal(covmat = cor(pq), factors = 1); omega = 1 - sum(fa$uniquenesses)/sum(cor(pq))",
    list(loadings = unname(as.vector(fa$loadings)), uniquenesses = unname(fa$uniquenesses),
         omega = 1 - sum(fa$uniquenesses) / sum(R)))

writeLines(toJSON(list(meta = list(R_version = R.version.string), results = out), auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/analysis/reference/analysis_extra.json")
