"""studykit.stats: effect sizes with CIs, tests, corrections, resampling and design analysis.

Modules (one per statistical family): ``results`` (frozen result types),
``effects``, ``information``, ``tests``, ``multitest``, ``resampling``,
``design``, ``conclusions``, ``reliability``, ``regression``, ``survival``, ``coxph``, ``clustered``,
``smallcluster``, ``crossed``.  Every public name is re-exported here; the
contract is documented in ``docs/stats-api.md``.
"""
from studykit.stats.results import Result, BootstrapResult, EffectSize, LogitTestResult, Retrodesign, TestResult
from studykit.stats.effects import (
    cliffs_delta, cohens_d, cohens_h, cramers_v, hedges_g, kendalls_w, odds_ratio, pearson_r, phi,
    rank_biserial, risk_difference, risk_ratio, spearman_rho, vargha_delaney_a,
)
from studykit.stats.information import entropy, jensen_shannon, kl_divergence, mutual_information
from studykit.stats.tests import (
    chi2_independence, friedman, mann_whitney, mcnemar, one_sample_t, paired_t, mean_difference_t, two_proportion_logit,
    welch_t, wilcoxon,
)
from studykit.stats.multitest import adjust_pvalues
from studykit.stats.resampling import (MeanContrast, bootstrap_ci, cluster_bootstrap_weights, mean, mean_diff,
                                       permutation_test)
from studykit.stats.design import (
    minimum_detectable_effect, power_two_means, power_two_proportions, retrodesign,
)
from studykit.stats.conclusions import CONCLUSIONS, classify_conclusion, conclusion_label, exaggeration_ratio
from studykit.stats.reliability import cronbach_alpha
from studykit.stats.regression import ols_slope, ols_slope_clustered
from studykit.stats.survival import LogRankTest, logrank_test
from studykit.stats.coxph import CoxFit, aggregate_units, fit_cox, fit_cox_rows, partial_loglik, schoenfeld_test
from studykit.stats.clustered import (ClusterCovariance, ClusteredOLS, cluster_robust_cov, jackknife_cov,
                                      ols_clustered)
from studykit.stats.smallcluster import ClusterJackknife, WildScoreTest, cluster_jackknife_ci, wild_cluster_score_test
from studykit.stats.crossed import pigeonhole_bootstrap, replicate_test, stratified_weights, unit_bootstrap

__all__ = [
    "Result", "EffectSize", "TestResult", "BootstrapResult", "LogitTestResult", "Retrodesign",
    "cohens_d", "hedges_g", "cohens_h", "risk_difference", "risk_ratio", "odds_ratio", "pearson_r",
    "spearman_rho", "cramers_v", "phi", "vargha_delaney_a", "rank_biserial", "cliffs_delta", "kendalls_w",
    "jensen_shannon", "kl_divergence", "mutual_information", "entropy",
    "welch_t", "mean_difference_t", "paired_t", "one_sample_t", "mann_whitney", "wilcoxon", "friedman", "chi2_independence",
    "mcnemar", "two_proportion_logit",
    "adjust_pvalues",
    "bootstrap_ci", "permutation_test", "MeanContrast", "mean", "mean_diff", "cluster_bootstrap_weights",
    "retrodesign", "power_two_proportions", "power_two_means", "minimum_detectable_effect",
    "classify_conclusion", "exaggeration_ratio", "conclusion_label", "CONCLUSIONS",
    "cronbach_alpha", "ols_slope", "ols_slope_clustered", "LogRankTest", "logrank_test",
    "CoxFit", "aggregate_units", "fit_cox", "fit_cox_rows", "partial_loglik", "schoenfeld_test",
    "ClusterCovariance", "cluster_robust_cov", "jackknife_cov", "ClusteredOLS", "ols_clustered",
    "WildScoreTest", "wild_cluster_score_test", "ClusterJackknife", "cluster_jackknife_ci",
    "pigeonhole_bootstrap", "replicate_test", "stratified_weights", "unit_bootstrap",
]
