/**
 * Wiring only: register commands, the cell-toolbar role picker, the cell decorations,
 * the Pipeline panel and the settings. The logic lives in the other modules.
 */

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, IToolbarWidgetRegistry } from '@jupyterlab/apputils';
import { Cell } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { Widget } from '@lumino/widgets';

import { getCapabilities } from './api';
import { RoleDecorations, RolePicker } from './cellrole';
import { cellRole, parseRoleChoice, setCellRole } from './commands';
import { OPEN_MODELS_COMMAND, showModels, storeForNotebook } from './models';
import { PipelinePanel } from './panel';
import {
  CommandIDs,
  DEFAULT_SETTINGS,
  IMlprodSettings,
  NO_ROLE,
  PANEL_ID,
  PLUGIN_ID,
  ROLE_PICKER_FACTORY
} from './tokens';

/** Settings read from the registry, falling back to the defaults field by field. */
function readSettings(settings: ISettingRegistry.ISettings | null): IMlprodSettings {
  const composite = (settings?.composite ?? {}) as Partial<IMlprodSettings>;
  return { ...DEFAULT_SETTINGS, ...composite };
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Tag cells with pipeline roles, see the pipeline, convert the notebook to a package.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ISettingRegistry, IToolbarWidgetRegistry, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    settingRegistry: ISettingRegistry | null,
    toolbarRegistry: IToolbarWidgetRegistry | null,
    palette: ICommandPalette | null
  ): void => {
    let settings: IMlprodSettings = { ...DEFAULT_SETTINGS };
    const applySettings = (): void => {
      document.body.classList.toggle('jp-mlprod-no-colours', !settings.colours);
    };
    applySettings();

    const panel = new PipelinePanel({
      activate: (widget: Widget) => app.shell.activateById(widget.id),
      settings: () => settings,
      capabilities: getCapabilities().catch(() => null),
      jobs: {
        openFile: path => void app.commands.execute('docmanager:open', { path }),
        showFolder: path => void app.commands.execute('filebrowser:go-to-path', { path }),
        openModels: notebookPath =>
          void app.commands.execute(OPEN_MODELS_COMMAND, {
            store: storeForNotebook(notebookPath, settings.outputDir)
          }),
        runsDirSetting: () => (settings as { runsDir?: string }).runsDir
      }
    });
    app.commands.addCommand(OPEN_MODELS_COMMAND, {
      label: 'Model Versions…',
      caption: "Show a converted package's model store: versions, aliases, promote, roll back",
      execute: args => {
        const notebook = tracker.currentWidget?.context.path;
        const store =
          typeof args.store === 'string'
            ? args.store
            : notebook
              ? storeForNotebook(notebook, settings.outputDir)
              : '';
        showModels(app.shell, store);
      }
    });
    app.shell.add(panel, 'right', { rank: 600 });
    panel.setNotebook(tracker.currentWidget);
    tracker.currentChanged.connect((_, notebook) => panel.setNotebook(notebook));

    // Decorate every notebook's tagged cells, including notebooks opened before us.
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (notebook: NotebookPanel) => new RoleDecorations(notebook)
    });
    tracker.forEach(notebook => new RoleDecorations(notebook));

    toolbarRegistry?.addFactory<Cell>('Cell', ROLE_PICKER_FACTORY, cell => new RolePicker(cell));

    app.commands.addCommand(CommandIDs.setRole, {
      label: args => {
        const role = parseRoleChoice(args.role);
        return role === NO_ROLE ? 'No Role' : role ? `Role: ${role}` : 'Set Pipeline Role';
      },
      caption: 'Set the pipeline role of the selected code cells',
      isEnabled: args => tracker.currentWidget !== null && parseRoleChoice(args.role) !== null,
      isToggled: args => {
        const cell = tracker.activeCell;
        const role = parseRoleChoice(args.role);
        if (!cell || cell.model.type !== 'code' || role === null) {
          return false;
        }
        return (cellRole(cell.model) ?? NO_ROLE) === role;
      },
      execute: args => {
        const notebook = tracker.currentWidget?.content;
        const role = parseRoleChoice(args.role);
        if (!notebook || role === null) {
          return;
        }
        for (const cell of notebook.widgets) {
          if (cell.model.type === 'code' && notebook.isSelectedOrActive(cell)) {
            setCellRole(cell.model, role);
          }
        }
      }
    });

    app.commands.addCommand(CommandIDs.openPanel, {
      label: 'Pipeline Panel',
      caption: 'Show the notebook pipeline: stages, flows, problems',
      execute: () => app.shell.activateById(PANEL_ID)
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh Pipeline Analysis',
      execute: () => panel.refresh()
    });
    app.commands.addCommand(CommandIDs.convert, {
      label: 'Convert Notebook to Package…',
      isEnabled: () => tracker.currentWidget !== null,
      execute: () => panel.convert()
    });
    app.commands.addCommand(CommandIDs.suggestRoles, {
      label: 'Suggest Pipeline Roles…',
      caption: 'Tag untagged code cells with the roles nb2prod tag suggests',
      isEnabled: () => tracker.currentWidget !== null,
      execute: () => panel.suggestRoles()
    });
    app.commands.addCommand(CommandIDs.verify, {
      label: 'Verify Notebook Against Package',
      isVisible: () => panel.capabilities?.verify === true,
      isEnabled: () => tracker.currentWidget !== null && panel.capabilities?.verify === true,
      execute: () => panel.verify()
    });
    app.commands.addCommand(CommandIDs.run, {
      label: 'Run Notebook Headless…',
      isVisible: () => panel.capabilities?.run === true,
      isEnabled: () => tracker.currentWidget !== null && panel.capabilities?.run === true,
      execute: () => panel.runHeadless()
    });

    if (palette) {
      const category = 'Notebook to Production';
      for (const command of [
        CommandIDs.openPanel,
        CommandIDs.refresh,
        CommandIDs.convert,
        CommandIDs.suggestRoles,
        CommandIDs.verify,
        CommandIDs.run,
        OPEN_MODELS_COMMAND
      ]) {
        palette.addItem({ command, category });
      }
    }

    if (settingRegistry) {
      void Promise.all([settingRegistry.load(PLUGIN_ID), app.restored])
        .then(([loaded]) => {
          const update = (): void => {
            settings = readSettings(loaded);
            applySettings();
          };
          update();
          loaded.changed.connect(() => {
            update();
            panel.refresh();
          });
        })
        .catch(reason => console.error(`${PLUGIN_ID}: cannot load settings`, reason));
    }
  }
};

export default plugin;
