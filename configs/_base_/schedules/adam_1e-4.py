# Section 4.1: "we trained the network using the Adam optimizer with a fixed
# 1e-4 learning rate" -> no parameter scheduler.
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4))
param_scheduler = []
