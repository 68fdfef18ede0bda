#!/usr/bin/env python3
"""Run a BMTK PointNet config on NEST and print the simulate phase's wall and CPU seconds as JSON
(CPU time stays meaningful on a shared, loaded machine). Usage: nest_time.py CONFIG [--threads N]
(run from the config's folder, as BMTK expects)."""
import json, sys, time
from bmtk.simulator import pointnet
cfg = sys.argv[1]
threads = int(sys.argv[sys.argv.index('--threads') + 1]) if '--threads' in sys.argv else 1
conf = pointnet.Config.from_json(cfg)
conf['run']['n_thread'] = threads
conf.build_env()
net = pointnet.PointNetwork.from_config(conf)
sim = pointnet.PointSimulator.from_config(conf, net)
w0, c0 = time.time(), time.process_time()
sim.run()
print(json.dumps({"t_run_s": round(time.time() - w0, 3), "cpu_run_s": round(time.process_time() - c0, 3)}))
