import type { PanelKind } from '../../../../webview/src/shared/messages';
import type { ControllerDeps, PanelController } from './base';
import { FrequencyPanel } from './frequency';
import { RiskPanel } from './risk';
import { TrainingPanel } from './training';

export type { ControllerDeps, PanelController, PanelLog } from './base';

export function createController(kind: PanelKind, deps: ControllerDeps): PanelController {
  switch (kind) {
    case 'training':
      return new TrainingPanel(deps);
    case 'risk':
      return new RiskPanel(deps);
    case 'frequency':
      return new FrequencyPanel(deps);
  }
}
