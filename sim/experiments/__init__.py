"""Running the model many times: replications, scenario comparisons, sweeps, calibration, validation, hypotheses.

Every workflow returns data (dataclasses and DataFrames); turning it into
reports and figures is ``sim.reporting``'s job, and nothing here imports it.
"""
