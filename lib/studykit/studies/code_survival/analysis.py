"""The analysis functions of the study in one namespace (for the notebook and the tests).

They live in modules named after what they hold: :mod:`.survival`
(Kaplan-Meier, log-rank, modification share), :mod:`.cox` (Cox models),
:mod:`.intent` (intent profiles), :mod:`.prediction` (prediction of
modification); :mod:`.steps` combines them into the notebook's steps.
"""
from __future__ import annotations

from studykit.studies.code_survival.cox import (JACKKNIFE_MAX_CLUSTERS, Clustering, CoxResult, choose_clusters,
                                                 cox_agent, design_matrix, jackknife_cov,
                                                 per_agent_hr, piecewise_hr, recovery, schoenfeld_test,
                                                 score_residuals)
from studykit.studies.code_survival.intent import INTENT_ORDER, IntentProfile, intent_profile
from studykit.studies.code_survival.prediction import (PredictionResult, _auc_stat, cluster_bootstrap_auc,
                                                       predict_modification, prediction_table)
from studykit.studies.code_survival.survival import (LogRank, ModifiedShare, horizon_labels, km_fits, km_table,
                                                     logrank, modified_share)

__all__ = ["Clustering", "choose_clusters", "score_residuals", "cluster_bootstrap_auc", "km_fits", "km_table", "logrank", "LogRank", "horizon_labels", "modified_share", "ModifiedShare",
           "CoxResult", "design_matrix", "cox_agent", "schoenfeld_test", "piecewise_hr",
           "per_agent_hr", "intent_profile", "IntentProfile", "predict_modification", "PredictionResult",
           "prediction_table", "recovery", "INTENT_ORDER", "_auc_stat", "jackknife_cov", "JACKKNIFE_MAX_CLUSTERS"]
